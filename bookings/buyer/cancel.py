"""The buyer's cancel, from their status page (bookings/buyer/views.py)."""

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from agencies.alerts import record_alert
from agencies.models import AlertKind
from bookings.audit import Action, Actor, By, Door, record
from bookings.buyer.status import can_cancel
from bookings.delivery import staff_actions
from bookings.models import Booking
from bookings.models.status import STAFF_TRANSITIONS

Status = Booking.Status


def cancels_outright(booking: Booking) -> bool:
    """Whether the buyer's cancel cancels it (it cannot be in the provider yet), rather than
    asking staff to remove them there."""
    return booking.status in STAFF_TRANSITIONS["cancel_unsent"].sources


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
    if asked:
        # Staff must remove the buyer in the provider: counting it on the start page
        # reaches only those who look, so the agency's administrators are told too.
        record_alert(
            booking.viewing.agency_id,
            AlertKind.CANCELLATION_REQUESTED,
            # The booking's number and viewing, never the buyer (as delivery's alerts).
            f"#{booking.pk} {booking.viewing}",
            None,
            reverse("admin:bookings_booking_change", args=[booking.pk]),
        )
