"""A booking as its buyer sees it on the private status page (bookings/buyer/links.py):
its state, in words that promise nothing the provider has not done, and the buyer's
cancellation."""

from enum import StrEnum

from django.db import transaction
from django.utils import timezone

from bookings.audit import Action, Actor, By, Door, record
from bookings.delivery import staff_actions
from bookings.models import Booking

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


def state_flags(state: BuyerState) -> dict[str, bool]:
    """`is_<state>` for each state, true for `state` alone: what the status page tests."""
    return {f"is_{each.value}": each == state for each in BuyerState}


def can_cancel(booking: Booking) -> bool:
    return (
        buyer_state(booking) not in (BuyerState.CANCELLED, BuyerState.CANCELLATION_REQUESTED)
        and booking.booked_time[1] > timezone.now()
    )


def cancel_by_buyer(booking: Booking) -> None:
    """The buyer's "cancel my booking". One that cannot be in the provider yet is
    cancelled outright, through the staff action's conditional update (a worker claiming
    it at the same moment wins or loses cleanly). One that is there, or may be (being sent,
    or set aside for review), gets `cancellation_requested_at` for staff to act on: the
    vendor documents offer no cancellation call we can rely on (docs/mspecs.md,
    docs/vitec.md)."""
    if not can_cancel(booking) or staff_actions.cancel_unsent([booking]).done:
        return
    with transaction.atomic():
        asked = (
            Booking.objects.filter(pk=booking.pk, cancellation_requested_at__isnull=True)
            .exclude(status=Status.CANCELLED)
            .update(cancellation_requested_at=timezone.now(), updated_at=timezone.now())
        )
        if asked:
            record(By(Actor.BUYER, Door.STATUS_PAGE), [booking], Action.ASK_TO_CANCEL)
