"""The one door every booking comes in through: admin, public page, API and import."""

from functools import partial

from django.db import transaction

from bookings.models import Booking
from bookings.tasks import enqueue_delivery


def accept_booking(booking: Booking) -> Booking:
    """Validate and normalise an unsaved booking, save it as queued, and enqueue its
    delivery once the transaction commits (so a booking is never lost, and a worker
    never looks for one that is not there yet). Raises ValidationError on bad input,
    having written nothing."""
    booking.full_clean()
    booking.status = Booking.Status.QUEUED
    with transaction.atomic():
        booking.save()
        transaction.on_commit(partial(enqueue_delivery, booking.pk))
    return booking
