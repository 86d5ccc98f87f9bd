"""The public booking page buyers reach from an agency's website or a portal ad."""

from django.conf import settings
from django.core import signing
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from agencies.models import BrokerSystem
from bookings.intake.forms import PublicBookingForm
from bookings.intake.ratelimit import over_limit
from bookings.intake.service import accept_booking
from bookings.models import DUPLICATE_BOOKING, Booking, Viewing

CONFIRMATION_SALT = "bookings.confirmation"


def client_ip(request) -> str:
    # Behind a proxy, set it to pass the client address as REMOTE_ADDR.
    return request.META.get("REMOTE_ADDR", "")


@require_http_methods(["GET", "HEAD", "POST"])
def booking_page(request, public_id):
    viewing = get_object_or_404(
        Viewing.objects.offered_online().select_related("agency"), public_id=public_id
    )
    form = PublicBookingForm(
        request.POST if request.method == "POST" else None,
        viewing=viewing,
        source=Booking.Source.PUBLIC_PAGE,
    )
    status = 200
    if request.method == "POST":
        retry_after = over_limit(
            f"page-ip:{client_ip(request)}", settings.BOOKING_RATE_LIMIT_PER_IP
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
                return redirect_to_confirmation(booking)
        if form.has_error(NON_FIELD_ERRORS, DUPLICATE_BOOKING):
            # Says nothing of the earlier booking: whoever typed the email may not have made it.
            return render(request, "bookings/booking_duplicate.html", {"viewing": viewing})
    # The upcoming slots, fetched once: the template lists these, never the form field's own.
    slots = list(viewing.slots.upcoming().with_live_booking_count()) if viewing.needs_slot else []
    for slot in slots:
        slot.places = slot.places_left()
    response = render(
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
    if status == 429:
        response["Retry-After"] = str(retry_after)
    return response


def redirect_to_confirmation(booking: Booking):
    token = signing.dumps(booking.pk, salt=CONFIRMATION_SALT)
    return redirect(
        reverse("booking-confirmed", args=[booking.viewing.public_id, token]), permanent=False
    )


def booking_confirmed(request, public_id, token):
    try:
        booking_id = signing.loads(token, salt=CONFIRMATION_SALT)
    except signing.BadSignature:
        raise Http404 from None
    booking = get_object_or_404(
        # The page shows only the credential's confirmation flags: the broker-system secret is
        # left encrypted in the database.
        Booking.objects.select_related("viewing__agency__credential", "slot").defer(
            "viewing__agency__credential__secret"
        ),
        pk=booking_id,
        viewing__public_id=public_id,
    )
    agency = booking.viewing.agency
    credential = getattr(agency, "credential", None)
    return render(
        request,
        "bookings/booking_confirmed.html",
        {
            "booking": booking,
            "viewing": booking.viewing,
            "is_mspecs": agency.broker_system == BrokerSystem.MSPECS,
            "confirmation_by_email": credential is None or credential.vitec_mail_confirmation,
            "confirmation_by_sms": credential is not None and credential.vitec_sms_confirmation,
        },
    )
