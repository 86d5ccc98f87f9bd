"""A booking as its buyer sees it on the private status page (bookings/buyer/links.py):
its state, in words that promise nothing the provider has not done (the buyer's cancel is
bookings/buyer/cancel.py)."""

from enum import StrEnum

from django.utils import timezone

from bookings.models import Booking, QuarantineDecision
from bookings.providers import plugin_for

Status = Booking.Status


class BuyerState(StrEnum):
    """What the buyer is told: fewer states than staff see, each true for the buyer."""

    WAITING = "waiting"  # received; not yet in the agency's provider (as far as we know)
    DELIVERED = "delivered"  # the provider took it
    NOT_REGISTERED = "not_registered"  # the provider refused it, or delivery gave up
    CANCELLED = "cancelled"
    CANCELLATION_REQUESTED = "cancellation_requested"  # asked after it may have arrived


def buyer_state(booking: Booking) -> BuyerState:
    if booking.status == Status.CANCELLED:
        return BuyerState.CANCELLED
    if booking.cancellation_requested_at:
        return BuyerState.CANCELLATION_REQUESTED
    if booking.status == Status.DELIVERED:
        return BuyerState.DELIVERED
    if booking.status in Status.given_up():
        return BuyerState.NOT_REGISTERED
    # Queued, sending, retrying, held, needs review or probably delivered: nothing
    # confirmed yet.
    return BuyerState.WAITING


def confirmed_by_provider(booking: Booking) -> bool:
    """Whether the provider has confirmed the booking, not just received it: delivered,
    and where delivered buyers wait in a quarantine, approved there by a broker."""
    if booking.status != Status.DELIVERED:
        return False
    if not plugin_for(booking.agency.provider).has_quarantine:
        return True
    return QuarantineDecision.objects.filter(
        viewing=booking.viewing_id,
        email__iexact=booking.email,
        decision=QuarantineDecision.Decision.APPROVED,
    ).exists()


def state_flags(state: BuyerState) -> dict[str, bool]:
    """`is_<state>` for each state, true for `state` alone: what the status page tests."""
    return {f"is_{each.value}": each == state for each in BuyerState}


def can_cancel(booking: Booking) -> bool:
    return (
        buyer_state(booking) not in (BuyerState.CANCELLED, BuyerState.CANCELLATION_REQUESTED)
        and booking.booked_time[1] > timezone.now()
    )
