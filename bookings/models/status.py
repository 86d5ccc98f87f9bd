"""The statuses of a booking's delivery and the groups the code names; below every model,
so the viewings' slots count live bookings without importing the bookings."""

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
    # Posts whose answers were lost more often than the broker system allows a repeat
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
        data or checks the broker system); Re-send starts them again."""
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
        """Bookings that may have reached the broker system without our knowing: staff check
        there, then re-send or mark them delivered."""
        return [cls.NEEDS_REVIEW, cls.PROBABLY_DELIVERED]

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
    def live(cls) -> list["BookingStatus"]:
        """Bookings that stand, are on their way or may have landed: a buyer has at most one
        of these per viewing and time. One refused, failed or cancelled does not stand, so
        the buyer may book again (e.g. with corrected data), as may one too late for its
        slot. One in doubt may sit in the broker system already: booking again could list
        the buyer twice."""
        return [
            cls.QUEUED,
            cls.SENDING,
            cls.RETRYING,
            cls.HELD,
            *cls.in_doubt(),
            cls.DELIVERED,
        ]
