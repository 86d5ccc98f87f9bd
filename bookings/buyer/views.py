"""The buyer's private status page, its calendar file and the cancel step."""

import functools

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from bookings.buyer.calendar import booking_calendar
from bookings.buyer.cancel import cancel_by_buyer, cancels_outright
from bookings.buyer.links import booking_for_token, booking_page_path, link_expired, status_path
from bookings.buyer.status import buyer_state, can_cancel, state_flags
from bookings.providers import plugin_for


def buyer_language(request, booking) -> str:
    """The language the buyer booked in, unless this browser chose one with the switch."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    return chosen if chosen in dict(settings.LANGUAGES) else booking.language


def unknown_link(request):
    return render(request, "bookings/status_link_unknown.html", status=404)


def expired_link(request, booking):
    with translation.override(buyer_language(request, booking)):
        response = render(
            request,
            "bookings/status_link_expired.html",
            {"agency": booking.agency, "days": settings.BUYER_LINK_DAYS_AFTER_VIEWING},
            status=410,
        )
        response["Content-Language"] = translation.get_language()
    return response


def buyer_link(view):
    """The view, given the link's booking: 404 for an unknown or erased one, 410 once the
    link has expired (bookings/buyer/links.py)."""

    @functools.wraps(view)
    def with_booking(request, token):
        booking = booking_for_token(token)
        if booking is None:
            return unknown_link(request)
        if link_expired(booking):
            return expired_link(request, booking)
        return view(request, token, booking)

    return with_booking


@never_cache  # private: no shared cache keeps it, and the state shown is current
@require_safe
@buyer_link
def status_page(request, token, booking):
    agency = booking.agency
    credential = getattr(agency, "credential", None)
    starts_at, ends_at = booking.booked_time
    with translation.override(buyer_language(request, booking)):
        response = render(
            request,
            "bookings/booking_status.html",
            {
                "booking": booking,
                "token": token,
                "viewing": booking.viewing,
                "agency": agency,
                "starts_at": starts_at,
                "ends_at": ends_at,
                # One flag per state (is_waiting, is_delivered, …): the template words
                # each apart by its flag, never by comparing strings.
                **state_flags(buyer_state(booking)),
                # What the provider does once it has the booking.
                "confirmation": plugin_for(agency.provider).buyer_confirmation(credential),
                "can_cancel": can_cancel(booking),
                "booking_page_path": booking_page_path(booking.viewing),
            },
        )
        response["Content-Language"] = translation.get_language()
    return response


@never_cache
@require_safe
@buyer_link
def calendar_file(request, token, booking):
    with translation.override(buyer_language(request, booking)):
        name, body = booking_calendar(booking, request.build_absolute_uri(status_path(booking)))
    return HttpResponse(
        body,
        content_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": content_disposition_header(True, name)},
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@buyer_link
def cancel(request, token, booking):
    """GET asks once (a page with one button, no JavaScript needed; the email's cancel
    link opens it); its POST cancels."""
    if request.method == "POST":
        cancel_by_buyer(booking)
    if request.method == "POST" or not can_cancel(booking):
        # The status page says what happened: cancelled, or asked for.
        return redirect("buyer-status", token)
    starts_at, ends_at = booking.booked_time
    with translation.override(buyer_language(request, booking)):
        response = render(
            request,
            "bookings/booking_cancel.html",
            {
                "booking": booking,
                "token": token,
                "viewing": booking.viewing,
                "agency": booking.agency,
                "starts_at": starts_at,
                "ends_at": ends_at,
                "cancels_outright": cancels_outright(booking),
            },
        )
        response["Content-Language"] = translation.get_language()
    return response
