"""The one door every booking comes in through: admin, public page and API."""

import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from bookings.buyer.emails import send_receipt
from bookings.delivery.schedule import wake_delivery
from bookings.models import DUPLICATE_BOOKING, DUPLICATE_BOOKING_ERROR, Booking

logger = logging.getLogger(__name__)


def accept_booking(booking: Booking) -> Booking:
    """Save an unsaved booking that passed validation (Booking.full_clean, which every
    door's form runs) as queued, and wake its delivery once the transaction commits (so
    a booking is never lost, and a worker never looks for one that is not there yet), and
    the buyer's receipt with it.
    Raises ValidationError (duplicate_booking), having written nothing, when the same
    buyer's booking was saved since it was validated."""
    booking.status = Booking.Status.QUEUED
    try:
        with transaction.atomic():
            booking.save()
            # The receipt first: a worker quick to send it then finds it still standing.
            send_receipt(booking.pk)
            wake_delivery(booking.pk)
    except IntegrityError:
        # An identical booking was saved since the check: the same answer as if it had
        # been there before.
        if booking.live_duplicate() is None:
            raise
        raise ValidationError(DUPLICATE_BOOKING_ERROR, code=DUPLICATE_BOOKING) from None
    logger.info(
        "Booking accepted",
        extra={
            "booking_id": booking.pk,
            "agency_id": booking.viewing.agency_id,
            "viewing_id": booking.viewing_id,
            "source": booking.source,
        },
    )
    return booking
