"""The public booking page buyers reach from an agency's website or a portal ad."""

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from bookings.buyer.links import status_path
from bookings.client_address import client_address
from bookings.intake.forms import PublicBookingForm
from bookings.intake.ratelimit import over_limit
from bookings.intake.service import accept_booking
from bookings.models import DUPLICATE_BOOKING, Booking, Viewing


@require_http_methods(["GET", "HEAD", "POST"])
def booking_page(request, public_id):
    viewing = Viewing.objects.select_related("agency").filter(public_id=public_id).first()
    if viewing is None or not Viewing.objects.offered_online().filter(pk=viewing.pk).exists():
        return viewing_unavailable(request, viewing)
    switch_to = request.POST.get("switch_language") if request.method == "POST" else None
    if switch_to in dict(settings.LANGUAGES):
        return switch_language(request, viewing, switch_to)
    form = PublicBookingForm(
        request.POST if request.method == "POST" else None,
        viewing=viewing,
        source=Booking.Source.PUBLIC_PAGE,
        language=translation.get_language(),
    )
    status = 200
    if request.method == "POST":
        retry_after = over_limit(
            f"page-ip:{client_address(request)}", settings.BOOKING_RATE_LIMIT_PER_IP
        ) or over_limit(f"page-viewing:{viewing.pk}", settings.BOOKING_RATE_LIMIT_PER_VIEWING)
        if retry_after:
            form.is_valid()  # keep the values and show the field errors there are
            # but not whether this buyer booked already: the limit is what stops guessing.
            form.errors.pop(NON_FIELD_ERRORS, None)
            form.add_error(
                None,
                ngettext(
                    "Too many booking attempts. Wait %(seconds)s second and send again.",
                    "Too many booking attempts. Wait %(seconds)s seconds and send again.",
                    retry_after,
                )
                % {"seconds": retry_after},
            )
            status = 429
        elif form.is_valid():
            booking = form.consented_booking()
            try:
                accept_booking(booking)
            except ValidationError as error:  # the same booking was saved since the form checked
                form.add_error(None, error)
            else:
                return redirect(status_path(booking))
        if form.has_error(NON_FIELD_ERRORS, DUPLICATE_BOOKING):
            # Says nothing of the earlier booking: whoever typed the email may not have made it.
            return render(request, "bookings/booking_duplicate.html", {"viewing": viewing})
    response = render_booking_page(request, viewing, form, status)
    if status == 429:
        response["Retry-After"] = str(retry_after)
    return response


def switch_language(request, viewing: Viewing, language: str):
    """The page's language switch submits the booking form (the switch's buttons belong to
    it), so the page comes back in `language` with what the buyer typed and the time they
    chose, unchecked and without errors; the choice is kept as set_language keeps it."""
    translation.activate(language)
    form = PublicBookingForm(
        viewing=viewing,
        source=Booking.Source.PUBLIC_PAGE,
        language=language,
        initial=PublicBookingForm.kept_values(request.POST),
    )
    response = render_booking_page(request, viewing, form)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


def render_booking_page(request, viewing: Viewing, form: PublicBookingForm, status: int = 200):
    # The upcoming slots, fetched once: the template lists these, never the form field's own.
    slots = list(viewing.slots.upcoming().with_live_booking_count()) if viewing.needs_slot else []
    for slot in slots:
        slot.places = slot.places_left()
    return render(
        request,
        "bookings/booking_page.html",
        {
            "viewing": viewing,
            "form": form,
            "slots": slots,
            # Past the deadline the page says so instead of offering a form.
            "booking_closed": viewing.booking_closed(),
        },
        status=status,
    )


def viewing_unavailable(request, viewing: Viewing | None):
    """A friendly page for a viewing link that cannot be booked: 410 for a viewing that is
    closed or over (with the agency's name), 404 for one we do not know."""
    return render(
        request,
        "bookings/viewing_unavailable.html",
        {"viewing": viewing, "agency": viewing and viewing.agency},
        status=404 if viewing is None else 410,
    )


def unknown_viewing_link(request):
    return viewing_unavailable(request, None)
