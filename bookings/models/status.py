"""The statuses of a booking's delivery and the groups the code names; below every model,
so the viewings' slots count live bookings without importing the bookings."""

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class BookingStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    DELIVERED = "delivered", _("Delivered")
    RETRYING = "retrying", _("Retrying")
    HELD = "held", _("Held: credential failing")
    REJECTED = "rejected", _("Rejected by broker system")
    NEEDS_REVIEW = "needs_review", _("Needs review")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    # Its slot or viewing started before it could be delivered (Booking.delivery_deadline).
    TOO_LATE = "too_late", _("Too late")
    # Posts whose answers were lost more often than the provider allows a repeat
    # (bookings/providers/base.py, lost_answer_repeats): it most likely landed.
    PROBABLY_DELIVERED = "probably_delivered", _("Probably delivered: check the broker system")

    # The groups below are the words the code uses for sets of statuses; keep them here.

    @classmethod
    def waiting(cls) -> list["BookingStatus"]:
        """Bookings a worker sends on its own once due (`next_attempt_at`): the delivery
        schedule (bookings/delivery/schedule.py)."""
        return [cls.QUEUED, cls.RETRYING]

    @classmethod
    def stopped(cls) -> list["BookingStatus"]:
        """Bookings whose delivery halted until someone acts (fixes the credential, the
        data or checks the provider); Re-send starts them again."""
        return [
            cls.HELD,
            cls.REJECTED,
            cls.NEEDS_REVIEW,
            cls.PROBABLY_DELIVERED,
            cls.FAILED,
            cls.TOO_LATE,
        ]

    @classmethod
    def in_doubt(cls) -> list["BookingStatus"]:
        """Bookings that may have reached the provider without our knowing: staff check
        there, then re-send or mark them delivered."""
        return [cls.NEEDS_REVIEW, cls.PROBABLY_DELIVERED]

    @classmethod
    def on_the_way(cls) -> list["BookingStatus"]:
        """Bookings the system is still delivering by itself: waiting or being sent."""
        return [*cls.waiting(), cls.SENDING]

    @classmethod
    def with_the_provider(cls) -> list["BookingStatus"]:
        """Bookings the provider has or is being sent: what it has must stay what the
        admin shows."""
        return [cls.SENDING, cls.DELIVERED]

    @classmethod
    def given_up(cls) -> list["BookingStatus"]:
        """Bookings that ended without reaching the provider: refused, failed or too
        late. Their buyer is told (bookings/buyer/emails.py) and sees "not registered"."""
        return [cls.REJECTED, cls.FAILED, cls.TOO_LATE]

    @classmethod
    def ended(cls) -> list["BookingStatus"]:
        """Bookings that cannot go ahead: given up, or cancelled by staff; the ends a buyer
        gets their email for (bookings/buyer/emails.py)."""
        return [*cls.given_up(), cls.CANCELLED]

    @classmethod
    def alerted(cls) -> list["BookingStatus"]:
        """Bookings whose delivery stopped for a person to look: the agency's administrators
        are told (bookings/monitoring/)."""
        return [cls.FAILED, *cls.in_doubt()]

    @classmethod
    def replayed(cls) -> list["BookingStatus"]:
        """Bookings a bulk replay sends again: stopped by an outage or a refused credential,
        not by the provider's verdict on the booking (rejected) or staff's
        (cancelled)."""
        return [cls.FAILED, cls.HELD]

    @classmethod
    def unsent_stopped(cls) -> list["BookingStatus"]:
        """Stopped bookings that cannot have reached the provider (not in doubt)."""
        return [status for status in cls.stopped() if status not in cls.in_doubt()]

    @classmethod
    def mirrored(cls) -> list["BookingStatus"]:
        """Bookings in an MSPECS quarantine (bookings/quarantine/): delivered, or most likely
        there although their answers were lost (shown flagged, for staff to check)."""
        return [cls.DELIVERED, cls.PROBABLY_DELIVERED]

    @classmethod
    def watched(cls) -> list["BookingStatus"]:
        """Bookings the admin start page counts for staff (bookings/cockpit.py): stopped
        ones, and retrying ones that may yet fail."""
        return [*cls.stopped(), cls.RETRYING]

    @classmethod
    def final(cls) -> list["BookingStatus"]:
        """Bookings whose delivery is over for good: neither the system nor a staff action
        sends them again. Rejected and failed ones are not final: Re-send restarts them."""
        return [cls.DELIVERED, cls.CANCELLED]

    @classmethod
    def not_cancelled(cls) -> list["BookingStatus"]:
        """Every status but cancelled: a buyer's request to cancel one of these still waits
        for staff (bookings/cockpit.py)."""
        return [status for status in cls if status != cls.CANCELLED]

    @classmethod
    def live(cls) -> list["BookingStatus"]:
        """Bookings that stand, are on their way or may have landed: a buyer has at most one
        of these per viewing and time. One refused, failed or cancelled does not stand, so
        the buyer may book again (e.g. with corrected data), as may one too late for its
        slot. One in doubt may sit in the provider already: booking again could list
        the buyer twice."""
        return [
            cls.QUEUED,
            cls.SENDING,
            cls.RETRYING,
            cls.HELD,
            *cls.in_doubt(),
            cls.DELIVERED,
        ]


@dataclass(frozen=True)
class Transition:
    """Which statuses a staff action applies to, and the status it moves them to (None: it
    leaves the status as it is, e.g. Send now only brings the next attempt forward)."""

    sources: tuple[BookingStatus, ...]
    target: BookingStatus | None


# The one state table for actions taken on bookings by people, by the name of the action
# in bookings/delivery/staff_actions.py: its guards apply it, the admin offers an action
# only on a booking whose status is among its sources, and the buyer's page cancels
# through `cancel_unsent`.
STAFF_TRANSITIONS = {
    "send_now": Transition(tuple(BookingStatus.waiting()), None),
    "resend": Transition(tuple(BookingStatus.stopped()), BookingStatus.QUEUED),
    "cancel": Transition(
        (*BookingStatus.waiting(), *BookingStatus.stopped()), BookingStatus.CANCELLED
    ),
    # The buyer's own cancel: what cannot have reached the provider.
    "cancel_unsent": Transition(
        (*BookingStatus.waiting(), *BookingStatus.unsent_stopped()), BookingStatus.CANCELLED
    ),
    # Staff removed the buyer in the provider, so a delivered booking is cancelled too.
    "cancel_as_the_buyer_asked": Transition(
        (*BookingStatus.waiting(), *BookingStatus.stopped(), BookingStatus.DELIVERED),
        BookingStatus.CANCELLED,
    ),
    "mark_delivered": Transition(tuple(BookingStatus.in_doubt()), BookingStatus.DELIVERED),
}

# Why a staff action left a booking alone, by the status it found the booking in: the
# skipped half of the table above, as staff read it.
LEFT_ALONE_BECAUSE = {
    BookingStatus.DELIVERED: _("already delivered"),
    BookingStatus.CANCELLED: _("cancelled"),
    BookingStatus.SENDING: _("being sent right now"),
    BookingStatus.QUEUED: _("already queued"),
    BookingStatus.RETRYING: _("waiting to retry (use Send now)"),
    BookingStatus.HELD: _("held until the credential works (use Re-send)"),
    BookingStatus.REJECTED: _("rejected (fix it, then Re-send)"),
    BookingStatus.NEEDS_REVIEW: _("needs review (Re-send or Mark as delivered)"),
    BookingStatus.PROBABLY_DELIVERED: _("probably delivered (Re-send or Mark as delivered)"),
    BookingStatus.FAILED: _("failed (use Re-send)"),
    BookingStatus.TOO_LATE: _("too late: its slot or viewing has started"),
}
