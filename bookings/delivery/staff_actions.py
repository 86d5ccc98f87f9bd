"""The staff actions on bookings (send now, re-send, bulk replay, cancel, mark as
delivered) and the buyer's own cancel: each moves a booking along the state table
(bookings/models/status.py, STAFF_TRANSITIONS) by a conditional UPDATE, so a worker
sending it cannot be overtaken. Each booking moved is recorded in the audit trail
(bookings/audit.py) with who did it (`by`: a user or an audit.Actor) and through which
door, in the same transaction as the move."""

from collections import Counter
from dataclasses import dataclass, field
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from bookings import audit
from bookings.audit import Action, By, Door
from bookings.buyer.emails import correct_buyer, notify_buyer
from bookings.delivery.schedule import wake_delivery
from bookings.models import Booking
from bookings.models.status import LEFT_ALONE_BECAUSE, STAFF_TRANSITIONS, Transition

Status = Booking.Status

REBOOKED = _("the buyer has booked this time again since")
GONE = _("no longer exists")
SKIPPED = ngettext_lazy(
    "%(count)d booking skipped: %(reason)s.", "%(count)d bookings skipped: %(reason)s.", "count"
)


@dataclass
class ActionResult:
    done_message: Promise  # ngettext_lazy with a %(count)d, e.g. "%(count)d bookings cancelled."
    done: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason (lazy text) -> count

    @property
    def message(self) -> str:
        """Sentences in the active language, e.g. "12 bookings queued to be sent again.
        3 bookings skipped: already delivered." """
        sentences = []
        if self.done or not self.skipped:
            sentences.append(self.done_message % {"count": self.done})
        sentences += [
            SKIPPED % {"count": count, "reason": reason} for reason, count in self.skipped.items()
        ]
        return " ".join(sentences)


def _act(bookings, done_message, action: Action, by: By, changes: dict, then=None) -> ActionResult:
    """Move each booking whose status is (still) one of the action's sources in the state
    table to its target, with `changes`, by a conditional UPDATE so a worker cannot be
    overtaken, and record it; count the rest by reason."""
    transition: Transition = STAFF_TRANSITIONS[action]
    result = ActionResult(done_message)
    by = by.resolved()
    allowed = transition.sources
    if transition.target is not None:
        changes = {**changes, "status": transition.target}
    for booking in bookings:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    updated = Booking.objects.filter(pk=booking.pk, status__in=allowed).update(
                        **changes, updated_at=timezone.now()
                    )
            except IntegrityError:
                # Bringing it back would give its buyer two live bookings of one time.
                result.skipped[REBOOKED] += 1
                continue
            if updated:
                result.done += 1
                audit.record(by, [booking], action)
                if then:
                    then(booking.pk)
            else:
                status = Booking.objects.filter(pk=booking.pk).values_list("status", flat=True)
                result.skipped[LEFT_ALONE_BECAUSE.get(status.first(), GONE)] += 1
    return result


def send_now(bookings, by: By) -> ActionResult:
    """Send queued or retrying bookings now instead of at their next attempt time."""
    return _act(
        bookings,
        ngettext_lazy(
            "%(count)d booking queued to be sent now.",
            "%(count)d bookings queued to be sent now.",
            "count",
        ),
        Action.SEND_NOW,
        by,
        {"next_attempt_at": None},
        then=wake_delivery,
    )


def resend(bookings, by: By) -> ActionResult:
    """Start delivery again, with a fresh retry schedule, for bookings that stopped."""
    return _act(
        bookings,
        ngettext_lazy(
            "%(count)d booking queued to be sent again.",
            "%(count)d bookings queued to be sent again.",
            "count",
        ),
        Action.RESEND,
        by,
        {
            "attempt_count": 0,
            "lost_answer_count": 0,
            "next_attempt_at": None,
            "last_problem": None,
            "provider_errors": {},
        },
        then=wake_delivery,
    )


def replayable(agency, since):
    """The agency's failed or held bookings received since `since`, oldest first."""
    return Booking.objects.filter(
        viewing__agency=agency, status__in=Status.replayed(), created_at__gte=since
    ).order_by("created_at", "pk")


def replay(agency, since, who) -> ActionResult:
    """Re-send every failed or held booking of the agency received since `since` (e.g. after
    a provider's outage), each with a fresh retry schedule."""
    return resend(replayable(agency, since), By(who, Door.REPLAY, {"since": since.isoformat()}))


CANCELLED_CHANGES = {"next_attempt_at": None}
CANCELLED_MESSAGE = ngettext_lazy(
    "%(count)d booking cancelled.", "%(count)d bookings cancelled.", "count"
)


def cancel(bookings, by: By, *, tell_buyer: bool = True) -> ActionResult:
    """Staff's Cancel, of any booking not delivered; its buyer gets the email saying so
    (bookings/buyer/emails.py) unless `tell_buyer` is false."""
    then = partial(notify_buyer, status=Status.CANCELLED) if tell_buyer else None
    return _act(bookings, CANCELLED_MESSAGE, Action.CANCEL, by, CANCELLED_CHANGES, then)


def cancel_unsent(bookings) -> ActionResult:
    """The buyer's own cancel (bookings/buyer/status.py): only bookings that have not
    reached the provider. One in doubt may have, so it is left to staff."""
    return _act(
        bookings,
        CANCELLED_MESSAGE,
        Action.CANCEL_UNSENT,
        By(audit.Actor.BUYER, Door.STATUS_PAGE),
        CANCELLED_CHANGES,
    )


def cancel_as_the_buyer_asked(bookings, by: By) -> ActionResult:
    """Staff removed the buyer from the provider, as the buyer asked on their status
    page after delivery (`cancellation_requested_at`): the booking is cancelled, with no
    email (the buyer asked for it)."""
    asked = [booking for booking in bookings if booking.cancellation_requested_at]
    result = _act(asked, CANCELLED_MESSAGE, Action.CANCEL_AS_THE_BUYER_ASKED, by, CANCELLED_CHANGES)
    if len(bookings) > len(asked):
        result.skipped[_("the buyer did not ask to cancel")] += len(bookings) - len(asked)
    return result


def mark_delivered(bookings, by: By) -> ActionResult:
    """For a booking in doubt that staff found in the provider; a buyer told it had
    failed gets the correction."""
    return _act(
        bookings,
        ngettext_lazy(
            "%(count)d booking marked as delivered.",
            "%(count)d bookings marked as delivered.",
            "count",
        ),
        Action.MARK_DELIVERED,
        by,
        {"delivered_at": timezone.now(), "last_problem": None},
        then=lambda booking_id: correct_buyer(Booking.objects.get(pk=booking_id)),
    )
