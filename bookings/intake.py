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


# Bookings that stand or are on their way: a resubmission duplicates one of these. A booking
# refused, failed or set aside for review does not stand, so the buyer may send corrected data.
LIVE_STATUSES = (
    Booking.Status.QUEUED,
    Booking.Status.SENDING,
    Booking.Status.RETRYING,
    Booking.Status.HELD,
    Booking.Status.DELIVERED,
)


def earlier_booking(booking: Booking) -> Booking | None:
    """The buyer's live booking of the same viewing and slot under the same (normalised)
    email: submitting twice shows the first confirmation instead of a second booking."""
    return (
        Booking.objects.filter(
            viewing_id=booking.viewing_id,
            slot_id=booking.slot_id,
            email=booking.email,
            status__in=LIVE_STATUSES,
        )
        .order_by("created_at")
        .first()
    )
