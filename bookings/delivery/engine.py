"""Delivery of bookings to the broker systems: the outbox row -> provider, and the
retry policy (docs/design.md, "The flow of one booking").

The booking row is the schedule (bookings/delivery/schedule.py). A worker claims a due
booking with one conditional UPDATE (so two workers never send the same booking), posts
it through the agency's provider client, records the call as a DeliveryAttempt and moves
the booking to the state the outcome table gives. A periodic sweep puts right what a
killed worker left behind and wakes what has come due.
"""

import logging
import math
import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from agencies.models import CredentialStatus, ProviderCredential
from bookings.buyer.emails import notify_buyer
from bookings.delivery import problems
from bookings.delivery.credentials import hold_agency, resume_held
from bookings.delivery.redaction import redact_answer
from bookings.delivery.schedule import dispatch_due, due_filter, wake_delivery
from bookings.models import Booking, DeliveryAttempt, Outcome, unbookable_slot_changes
from bookings.providers import CLIENT_CLASSES, client_for
from bookings.providers.base import CallRecord, DeliveryResult, delivery_calls_in_flight

Status = Booking.Status

logger = logging.getLogger(__name__)

EXCERPT_LENGTH = 2000
# Random spread of each retry delay, so bookings that failed together do not come back
# together (±20%).
RETRY_JITTER = 0.2
# Retry-After is honoured up to a day; a broker system asking for longer is treated as an
# error in its header, not a reason to park a booking for weeks.
MAX_RETRY_AFTER = 24 * 3600


def claim_seconds() -> float:
    """How long a worker owns a booking it claimed: the slowest possible call, after
    waiting for every thread ahead of it for a call slot (DELIVERY_CONCURRENCY)."""
    slowest_call = settings.BROKER_CONNECT_TIMEOUT + settings.BROKER_READ_TIMEOUT
    waits = math.ceil(settings.DELIVERY_WORKER_THREADS / settings.DELIVERY_CONCURRENCY)
    return slowest_call * (1 + waits)


def claim(booking_id: int) -> Booking | None:
    """Take a due booking for sending, or None when it is not due or another worker has
    it. One conditional UPDATE: atomic on SQLite and PostgreSQL alike."""
    now = timezone.now()
    claimed = Booking.objects.filter(due_filter(now), pk=booking_id).update(
        status=Status.SENDING,
        claimed_until=now + timedelta(seconds=claim_seconds()),
        send_started_at=None,
        updated_at=now,
    )
    if not claimed:
        return None
    return Booking.objects.select_related("viewing__agency__credential", "slot").get(pk=booking_id)


def deliver(booking_id: int) -> Outcome | None:
    """Send one booking if it is due. Returns the outcome that decided the booking's new
    state (also when it was not sent: held for its credential, rejected for its slot), or
    None when nothing was done: not due, another worker's, or the claim ran out first."""
    booking = claim(booking_id)
    if booking is None:
        logger.debug("Booking %s: not due, or claimed by another worker", booking_id)
        return None
    credential = getattr(booking.viewing.agency, "credential", None)
    if credential is None or credential.status == CredentialStatus.FAILING:
        reason = problems.NO_CREDENTIAL() if credential is None else problems.CREDENTIAL_FAILING()
        release(booking, status=Status.HELD, last_problem=reason)
        return Outcome.AUTH_FAILED
    if booking.slot_is_unbookable:
        # Polling found the slot full (or gone): sending would only be refused.
        release(booking, **unbookable_slot_changes())
        return Outcome.REJECTED
    try:
        result = client_for(credential).deliver(booking, in_flight=sending(booking))
    except ClaimLost:
        # Nothing was sent: the claim ran out while waiting for a call slot.
        if release(booking, status=Status.QUEUED, next_attempt_at=None):
            wake_delivery(booking.pk)
        logger.info("Booking %s: the claim ran out before sending; queued again", booking_id)
        return None
    except Exception:
        # A fault in our own code, not the broker system's answer (that never raises): do not
        # leave the booking claimed and the sweep sending it round and round.
        release(
            booking,
            status=Status.FAILED,
            last_problem=problems.INTERNAL_ERROR(),
        )
        raise
    apply_result(booking, credential, result)
    return result.outcome


class ClaimLost(Exception):
    """The worker's claim ran out (or passed to the sweep) before its call could start."""


@contextmanager
def sending(booking: Booking) -> Iterator[None]:
    """Wait for a delivery call slot, then mark the booking's call as started: from then on
    the broker system may receive it, so a worker that dies leaves it for review (Vitec)
    rather than for the queue. Raises ClaimLost, sending nothing, if the claim ran out."""
    with delivery_calls_in_flight():
        now = timezone.now()
        started = Booking.objects.filter(
            pk=booking.pk,
            status=Status.SENDING,
            claimed_until=booking.claimed_until,
            claimed_until__gt=now,
        ).update(send_started_at=now)
        if not started:
            raise ClaimLost
        booking.send_started_at = now
        yield


def apply_result(booking: Booking, credential: ProviderCredential, result: DeliveryResult) -> None:
    """Record the call and move the booking on, per the outcome table."""
    attempt_number = booking.attempt_count + 1
    problem = redact_answer(result.problem, credential, booking)
    changes = {"attempt_count": attempt_number, "last_problem": problem}
    with transaction.atomic():
        record_attempt(booking, credential, result.record, result.outcome)
        match result.outcome:
            case Outcome.DELIVERED:
                changes |= {
                    "status": Status.DELIVERED,
                    "delivered_at": timezone.now(),
                    "provider_reference": redact_answer(result.reference, credential, booking)[
                        :200
                    ],
                    "provider_errors": {},
                }
            case Outcome.REJECTED:
                changes |= {
                    "status": Status.REJECTED,
                    "provider_errors": redact_answer(result.field_errors, credential, booking),
                }
                if result.slot_fully_booked and booking.slot_id:
                    booking.slot.mark_fully_booked()
            case Outcome.AUTH_FAILED:
                if hold_agency(credential, problem):
                    changes["status"] = Status.HELD
                else:  # refused with the old secret; the credential was fixed meanwhile
                    changes |= {"status": Status.QUEUED, "next_attempt_at": None}
                    wake_delivery(booking.pk)
            case Outcome.NEEDS_REVIEW:
                changes["status"] = Status.NEEDS_REVIEW
            case Outcome.RETRY:
                delay = retry_delay(attempt_number, result.record.retry_after)
                if delay is None:
                    changes |= {
                        "status": Status.FAILED,
                        "last_problem": problems.GAVE_UP(problem=problem, attempts=attempt_number),
                    }
                else:
                    # Only the row: the sweep wakes it once it is due (schedule.dispatch_due).
                    changes |= {
                        "status": Status.RETRYING,
                        "next_attempt_at": timezone.now() + timedelta(seconds=delay),
                    }
        if not release(booking, **changes) and result.outcome == Outcome.DELIVERED:
            # The claim ran out and the sweep queued the booking again or set it aside
            # for review; it landed after all, so say so rather than send it twice.
            Booking.objects.filter(
                pk=booking.pk, status__in=[*Status.waiting(), Status.NEEDS_REVIEW]
            ).update(**changes)


def release(booking: Booking, **changes) -> bool:
    """Save the claimed booking's new state and give up the claim, if this worker still
    holds it: a claim that ran out may belong to the sweep or another worker by now
    (its `claimed_until` is the owner's token)."""
    token = booking.claimed_until
    changes |= {"claimed_until": None, "updated_at": timezone.now()}
    released = Booking.objects.filter(
        pk=booking.pk, status=Status.SENDING, claimed_until=token
    ).update(**changes)
    if not released:
        logger.warning("Booking %s: claim lost before its result was saved", booking.pk)
    elif changes.get("status") in (Status.REJECTED, Status.FAILED):
        notify_buyer(booking.pk, changes["status"])
    for name, value in changes.items():
        setattr(booking, name, value)
    return bool(released)


def retry_delay(attempt_number: int, retry_after: float | None = None) -> float | None:
    """Seconds to wait after failed attempt `attempt_number`, or None to give up.
    Follows settings.DELIVERY_RETRY_SCHEDULE with jitter, never sooner than the
    broker system's Retry-After."""
    schedule = settings.DELIVERY_RETRY_SCHEDULE
    if attempt_number > len(schedule):
        return None
    delay = schedule[attempt_number - 1] * random.uniform(1 - RETRY_JITTER, 1 + RETRY_JITTER)
    return max(delay, min(retry_after or 0, MAX_RETRY_AFTER))


def record_attempt(
    booking: Booking, credential: ProviderCredential | None, record: CallRecord, outcome: Outcome
) -> DeliveryAttempt:
    if record.status is None:
        answer = f"no answer: {record.describe()}: {record.error}"
    else:
        answer = f"HTTP {record.status}: {record.text}"
    return DeliveryAttempt.objects.create(
        booking=booking,
        endpoint=f"{record.method} {record.endpoint}"[:500],
        url=record.url[:2000],
        http_status=record.status,
        duration_ms=record.duration_ms,
        outcome=outcome,
        # Redact first: a secret cut at the end of the excerpt would no longer match.
        response_excerpt=redact_answer(answer, credential, booking)[:EXCERPT_LENGTH],
    )


# --- the sweep -----------------------------------------------------------------------------


def sweep() -> dict[str, int]:
    """Run periodically (bookings.tasks.dispatch_deliveries): put right bookings a killed
    worker was sending, resume held bookings whose credential works again, and wake every
    booking that is due."""
    return {
        "interrupted": recover_interrupted(),
        "resumed": sum(
            resume_held(agency_id)
            for agency_id in Booking.objects.filter(status=Status.HELD)
            .exclude(viewing__agency__credential__status=CredentialStatus.FAILING)
            .exclude(viewing__agency__credential__isnull=True)
            .values_list("viewing__agency", flat=True)
            .distinct()
        ),
        "dispatched": dispatch_due(),
    }


def recover_interrupted() -> int:
    """A booking still `sending` after its claim ran out was claimed by a worker that died.
    If its call never started it goes back to the queue. If the call started, a broker
    system that merges repeats gets it again; otherwise it may have landed and staff must
    look."""
    now = timezone.now()
    stale = Booking.objects.filter(status=Status.SENDING, claimed_until__lt=now).values_list(
        "pk", "attempt_count", "send_started_at", "viewing__agency__broker_system"
    )
    recovered = 0
    # Each booking below is taken with a conditional UPDATE on the state read here, so a
    # worker that answers meanwhile (or a second sweep) wins and this one skips it.
    for booking_id, attempt_count, send_started_at, broker_system in stale:
        if send_started_at is None:
            # Not an attempt: nothing reached the broker system.
            changes = {
                "status": Status.QUEUED,
                "next_attempt_at": None,
                "last_problem": problems.STOPPED_BEFORE_SENDING(),
            }
        elif not CLIENT_CLASSES[broker_system].resend_is_safe:
            changes = {
                "status": Status.NEEDS_REVIEW,
                "last_problem": problems.STOPPED_MAY_HAVE_SAVED(),
            }
        elif retry_delay(attempt_count + 1) is None:
            changes = {
                "status": Status.FAILED,
                "last_problem": problems.STOPPED_ON_LAST_ATTEMPT(),
            }
        else:
            changes = {
                "status": Status.QUEUED,
                "next_attempt_at": None,
                "last_problem": problems.STOPPED_SENDING_AGAIN(),
            }
        started = send_started_at is not None
        with transaction.atomic():
            still_stale = Booking.objects.filter(
                pk=booking_id,
                status=Status.SENDING,
                claimed_until__lt=now,
                send_started_at=send_started_at,
            ).update(
                attempt_count=F("attempt_count") + int(started),
                claimed_until=None,
                updated_at=timezone.now(),
                **changes,
            )
            if not still_stale:
                continue
            if started:
                DeliveryAttempt.objects.create(
                    booking_id=booking_id,
                    started_at=send_started_at,
                    endpoint="(no answer recorded)",
                    outcome=Outcome.INTERRUPTED,
                    response_excerpt=str(changes["last_problem"]),
                )
            if changes["status"] == Status.QUEUED:
                wake_delivery(booking_id)
            elif changes["status"] == Status.FAILED:
                notify_buyer(booking_id, Status.FAILED)
        recovered += 1
    return recovered


# --- staff actions -------------------------------------------------------------------------

SKIP_REASONS = {
    Status.DELIVERED: "already delivered",
    Status.CANCELLED: "cancelled",
    Status.SENDING: "being sent right now",
    Status.QUEUED: "already queued",
    Status.RETRYING: "waiting to retry (use Send now)",
    Status.HELD: "held until the credential works (use Re-send)",
    Status.REJECTED: "rejected (fix it, then Re-send)",
    Status.NEEDS_REVIEW: "needs review (Re-send or Mark delivered)",
    Status.FAILED: "failed (use Re-send)",
}


@dataclass
class ActionResult:
    verb: str  # past participle: "queued", "cancelled"
    done: int = 0
    skipped: Counter = field(default_factory=Counter)

    @property
    def message(self) -> str:
        """e.g. "12 queued, 3 skipped: already delivered"."""
        parts = [f"{self.done} {self.verb}"]
        parts += [f"{count} skipped: {reason}" for reason, count in self.skipped.items()]
        return ", ".join(parts)


def _act(bookings, verb: str, allowed: list[str], changes: dict, then=None) -> ActionResult:
    """Apply `changes` to each booking whose status is (still) one of `allowed`, with a
    conditional UPDATE so a worker cannot be overtaken; count the rest by reason."""
    result = ActionResult(verb)
    for booking in bookings:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    updated = Booking.objects.filter(pk=booking.pk, status__in=allowed).update(
                        **changes, updated_at=timezone.now()
                    )
            except IntegrityError:
                # Bringing it back would give its buyer two live bookings of one time.
                result.skipped["the buyer has booked this time again since"] += 1
                continue
            if updated:
                result.done += 1
                if then:
                    then(booking.pk)
            else:
                status = Booking.objects.filter(pk=booking.pk).values_list("status", flat=True)
                result.skipped[SKIP_REASONS.get(status.first(), "gone")] += 1
    return result


def send_now(bookings) -> ActionResult:
    """Send queued or retrying bookings now instead of at their next attempt time."""
    return _act(bookings, "queued", Status.waiting(), {"next_attempt_at": None}, then=wake_delivery)


def resend(bookings) -> ActionResult:
    """Start delivery again, with a fresh retry schedule, for bookings that stopped."""
    return _act(
        bookings,
        "queued",
        Status.stopped(),
        {
            "status": Status.QUEUED,
            "attempt_count": 0,
            "next_attempt_at": None,
            "last_problem": None,
            "provider_errors": {},
        },
        then=wake_delivery,
    )


CANCELLED = {"status": Status.CANCELLED, "next_attempt_at": None}


def cancel(bookings, *, tell_buyer: bool = True) -> ActionResult:
    """Staff's Cancel, of any booking not delivered; its buyer gets the one email saying so
    (bookings/buyer/emails.py) unless `tell_buyer` is false."""
    then = partial(notify_buyer, status=Status.CANCELLED) if tell_buyer else None
    return _act(bookings, "cancelled", [*Status.waiting(), *Status.stopped()], CANCELLED, then)


def cancel_unsent(bookings) -> ActionResult:
    """The buyer's own cancel (bookings/buyer/status.py): only bookings that have not
    reached the broker system. One that needs review may have, so it is left to staff."""
    unsent = [*Status.waiting(), Status.HELD, Status.REJECTED, Status.FAILED]
    return _act(bookings, "cancelled", unsent, CANCELLED)


def cancel_as_the_buyer_asked(bookings) -> ActionResult:
    """Staff removed the buyer from the broker system, as the buyer asked on their status
    page after delivery (`cancellation_requested_at`): the booking is cancelled, with no
    email (the buyer asked for it)."""
    asked = [booking for booking in bookings if booking.cancellation_requested_at]
    result = _act(
        asked, "cancelled", [*Status.waiting(), *Status.stopped(), Status.DELIVERED], CANCELLED
    )
    if len(bookings) > len(asked):
        result.skipped["the buyer did not ask to cancel"] += len(bookings) - len(asked)
    return result


def mark_delivered(bookings) -> ActionResult:
    """For a needs-review booking that staff found in the broker system."""
    return _act(
        bookings,
        "marked delivered",
        [Status.NEEDS_REVIEW],
        {"status": Status.DELIVERED, "delivered_at": timezone.now(), "last_problem": None},
    )
