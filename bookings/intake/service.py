"""The one door every booking comes in through: admin, public page, API and import."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from bookings.delivery.schedule import wake_delivery
from bookings.models import DUPLICATE_BOOKING, DUPLICATE_BOOKING_ERROR, Booking


def accept_booking(booking: Booking) -> Booking:
    """Validate and normalise an unsaved booking, save it as queued, and wake its
    delivery once the transaction commits (so a booking is never lost, and a worker
    never looks for one that is not there yet). Raises ValidationError on bad input,
    having written nothing."""
    booking.status = Booking.Status.QUEUED
    # Booking.clean says when the buyer already has a live booking; not the constraint
    # validation as well, which would say it a second time.
    booking.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            booking.save()
            wake_delivery(booking.pk)
    except IntegrityError:
        # An identical booking was saved since the check: the same answer as if it had
        # been there before.
        if booking.live_duplicate() is None:
            raise
        raise ValidationError(DUPLICATE_BOOKING_ERROR, code=DUPLICATE_BOOKING) from None
    return booking
