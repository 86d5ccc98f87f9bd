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


def earlier_booking(booking: Booking) -> Booking | None:
    """The buyer's earlier booking of the same viewing under the same (normalised) email,
    unless cancelled: submitting twice shows the first confirmation instead of a second
    booking."""
    return (
        Booking.objects.filter(viewing_id=booking.viewing_id, email=booking.email)
        .exclude(status=Booking.Status.CANCELLED)
        .order_by("created_at")
        .first()
    )
