"""Sending one booking to its provider: the outbox row -> provider, and the retry
policy (docs/design.md, "The flow of one booking").

The booking row is the schedule (bookings/delivery/schedule.py). A worker claims a due
booking with one conditional UPDATE (so two workers never send the same booking), posts
it through the agency's provider client, records the call as a DeliveryAttempt and moves
the booking to the state the outcome table gives. The sweep (sweep.py) and the staff
actions (staff_actions.py) build on this module; it imports neither.
"""

import functools
import logging
import math
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField
from django.urls import reverse
from django.utils import timezone

from agencies.alerts import record_alert
from agencies.models import Agency, AlertKind, CredentialStatus, ProviderCredential
from agencies.problems import Problem
from bookings.buyer.emails import correct_buyer, notify_buyer
from bookings.delivery import circuit
from bookings.delivery.credentials import hold_agency
from bookings.delivery.redaction import redact_answer
from bookings.delivery.schedule import due_filter, wake_delivery
from bookings.models import Booking, DeliveryAttempt, Outcome, unbookable_changes
from bookings.prepared import Param, PreparedInsert, PreparedSelect, PreparedUpdate
from bookings.problems import delivery as problems
from bookings.providers import CLIENT_CLASSES, client_for
from bookings.providers.base import CallRecord, DeliveryResult, delivery_calls_in_flight

Status = Booking.Status

logger = logging.getLogger(__name__)

EXCERPT_LENGTH = 2000
# Random spread of each retry delay, so bookings that failed together do not come back
# together (±20%).
RETRY_JITTER = 0.2


def claim_seconds() -> float:
    """How long a worker owns a booking it claimed: the slowest possible call, after
    waiting for every thread ahead of it for a call slot (DELIVERY_CONCURRENCY)."""
    slowest_call = settings.BROKER_CONNECT_TIMEOUT + settings.BROKER_READ_TIMEOUT
    waits = math.ceil(settings.DELIVERY_WORKER_THREADS / settings.DELIVERY_CONCURRENCY)
    return slowest_call * (1 + waits)


# The claim: one conditional UPDATE, then the booking with what sending it needs, in one
# read of five tables. Both run for every booking, so they are prepared (bookings/prepared.py):
# compiled once per connection. The read takes only the columns delivery uses (the
# credential and agency whole: the rare paths, a refused login, a full slot, need more of
# them); a column left out is still read, by a query of its own, if some path asks for it.
CLAIM = PreparedUpdate(
    lambda: (
        Booking.objects.filter(
            due_filter(Param("now", DateTimeField())), pk=Param("booking_id", Booking._meta.pk)
        ),
        {
            "status": Status.SENDING,
            "claimed_until": Param("claimed_until", DateTimeField()),
            "send_started_at": Param("now", DateTimeField()),
            "updated_at": Param("now", DateTimeField()),
        },
    )
)
CLAIMED_BOOKING = PreparedSelect(
    lambda: (
        Booking.objects.select_related("viewing__agency__credential", "slot")
        .only(*CLAIMED_BOOKING_FIELDS)
        .filter(pk=Param("booking_id", Booking._meta.pk))
        .order_by()
    )
)
CLAIMED_BOOKING_FIELDS = [
    *("first_name", "last_name", "email", "phone", "message", "consent_given_at"),
    *("status", "attempt_count", "attempts_before_run", "claimed_until", "send_started_at"),
    "lost_answer_count",
    *("created_at", "updated_at", "buyer_notified_at"),
    *("viewing__agency_id", "viewing__starts_at", "viewing__booking_closes_at"),
    *("viewing__removed_from_source_at", "viewing__provider_viewing_id"),
    *("viewing__mspecs_deal_id", "viewing__viewing_type"),
    *("slot__viewing_id", "slot__provider_slot_id", "slot__starts_at", "slot__fully_booked"),
    "slot__missing_from_provider",
    *(f"viewing__agency__{field.name}" for field in Agency._meta.concrete_fields),
    *(
        f"viewing__agency__credential__{field.name}"
        for field in ProviderCredential._meta.concrete_fields
    ),
]
# The attempt's row, recorded for every booking, is prepared too.
NEW_ATTEMPT = PreparedInsert(lambda: DeliveryAttempt)


def claim(booking_id: int) -> Booking | None:
    """Take a due booking for sending, or None when it is not due or another worker has
    it. One conditional UPDATE: atomic on SQLite and PostgreSQL alike.

    The claim also marks the call as started (`send_started_at`): unless a rule below stops
    it, the worker sends at once or, when every call slot is busy, as soon as one is free.
    So a worker that dies holding the claim leaves the booking for review (Vitec) rather
    than for the queue (docs/design.md). A mark of its own, later, inside the call slot,
    would keep the slot, and the calls waiting for it, on a database write."""
    now = timezone.now()
    claimed = CLAIM.run(
        booking_id=booking_id, now=now, claimed_until=now + timedelta(seconds=claim_seconds())
    )
    if not claimed:
        return None
    return CLAIMED_BOOKING.first(booking_id=booking_id)


def deliver(booking_id: int) -> Outcome | None:
    """Send one booking if it is due. Returns the outcome that decided the booking's new
    state (also when it was not sent: held for its credential or its open circuit, rejected
    for its slot), or None when nothing was sent: not due, another worker's, too late, or
    the claim ran out first."""
    booking = claim(booking_id)
    if booking is None:
        logger.debug(
            "Booking %s: not due, or claimed by another worker",
            booking_id,
            extra={"booking_id": booking_id},
        )
        return None
    deadline, too_late = booking.delivery_deadline()
    if timezone.now() >= deadline:
        release(booking, **given_up_changes(booking, Status.TOO_LATE, too_late))
        return None
    credential = getattr(booking.viewing.agency, "credential", None)
    if credential is None or credential.status == CredentialStatus.FAILING:
        reason = problems.NO_CREDENTIAL() if credential is None else problems.CREDENTIAL_FAILING()
        release(booking, status=Status.HELD, last_problem=reason)
        return Outcome.AUTH_FAILED
    if not circuit.may_send(credential):
        release(booking, status=Status.HELD, last_problem=circuit.circuit_problem(credential))
        return Outcome.RETRY
    if unbookable := booking.unbookable_reason:
        # A sync removed the viewing, or polling found the slot full (or gone): sending
        # would only be refused.
        release(booking, **unbookable_changes(*unbookable))
        return Outcome.REJECTED
    if booking.accepted_after_deadline:
        # A booking taken in time is delivered even after the deadline (its retries may
        # run past it); one taken after it, only because a sync moved the deadline
        # earlier, is put before staff instead (docs/design.md).
        deadline = timezone.localtime(booking.viewing.booking_closes_at).isoformat()
        problem = problems.ACCEPTED_AFTER_DEADLINE(deadline=deadline)
        release(booking, status=Status.REJECTED, last_problem=problem, next_attempt_at=None)
        return Outcome.REJECTED
    try:
        result = client_for(credential).deliver(booking, in_flight=sending(booking))
    except Paused as paused:
        # Nothing was sent: the provider asked the agency's calls to wait.
        release(booking, status=Status.RETRYING, next_attempt_at=paused.until)
        return Outcome.RETRY
    except ClaimLost:
        # Nothing was sent: the claim ran out while waiting for a call slot.
        if release(booking, status=Status.QUEUED, next_attempt_at=None):
            wake_delivery(booking.pk)
        logger.info(
            "Booking %s: the claim ran out before sending; queued again",
            booking_id,
            extra={"booking_id": booking_id},
        )
        return None
    except Exception:
        # A fault in our own code, not the provider's answer (that never raises): do not
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


class Paused(Exception):
    """The provider asked the agency's calls to wait until `until` (circuit.pause)."""

    def __init__(self, until):
        super().__init__(until)
        self.until = until


@contextmanager
def sending(booking: Booking) -> Iterator[None]:
    """Wait for a delivery call slot for the claimed booking. Raises ClaimLost, sending
    nothing, if the claim ran out meanwhile: the sweep may have handed the booking on; or
    Paused if the agency's calls are paused (checked in the slot, as the call that got the
    pause noted it before letting its slot go)."""
    with delivery_calls_in_flight():
        if timezone.now() >= booking.claimed_until:
            raise ClaimLost
        if until := circuit.paused_until(booking.viewing.agency.credential):
            raise Paused(until)
        yield


def apply_result(booking: Booking, credential: ProviderCredential, result: DeliveryResult) -> None:
    """Record the call and move the booking on, per the outcome table."""
    attempt_number = booking.attempt_count + 1
    problem = redact_answer(result.problem, credential, booking)
    changes = {"attempt_count": attempt_number, "last_problem": problem}
    record = result.record
    with transaction.atomic():
        attempt = record_attempt(booking, credential, record, result.outcome)
        circuit_open = False
        if record.broker_failing:
            circuit_open = circuit.note_failure(
                credential, record.describe(), record.retry_after, record.back_off
            )
        elif not record.address_refused:
            circuit.note_answer(credential)
        booking.attempt_count = attempt_number
        if result.outcome == Outcome.ANSWER_LOST:
            booking.lost_answer_count += 1
            changes["lost_answer_count"] = booking.lost_answer_count
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
            case Outcome.ANSWER_LOST | Outcome.RETRY:
                changes |= retry_changes(
                    booking, credential, problem, record.retry_after, circuit_open=circuit_open
                )
        if not release(booking, **changes) and result.outcome == Outcome.DELIVERED:
            # The claim ran out and the sweep queued the booking again or set it aside
            # for review; it landed after all, so say so rather than send it twice.
            Booking.objects.filter(
                pk=booking.pk, status__in=[*Status.waiting(), Status.NEEDS_REVIEW]
            ).update(**changes)
    # Ids and figures only: the call's details (and the buyer) are on the attempt row.
    logger.info(
        "Delivery attempt: %s",
        result.outcome,
        extra={
            "booking_id": booking.pk,
            "agency_id": booking.viewing.agency_id,
            "attempt_id": attempt.pk,
            "broker_system": booking.viewing.agency.provider,
            "outcome": result.outcome.value,
            "http_status": attempt.http_status,
            "duration_ms": attempt.duration_ms,
            "status": booking.status,
        },
    )


def retry_changes(
    booking: Booking,
    credential: ProviderCredential,
    problem: Problem,
    retry_after: float | None,
    *,
    circuit_open: bool = False,
) -> dict:
    """After a failed attempt (its DeliveryAttempt recorded): when to try again, or how the
    booking ends (see given_up_changes). A post whose answer was lost is repeated only as
    often as the provider allows, and after a longer wait that outlasts any claim, so
    two posts of one booking are never on their way at once. While the credential's circuit
    is open it is held with the agency's others."""
    attempt_number = booking.attempt_count - booking.attempts_before_run
    lost = booking.lost_answer_count
    if lost > CLIENT_CLASSES[credential.agency.provider].lost_answer_repeats:
        return given_up_changes(booking, Status.FAILED, problem)
    if circuit_open:
        return {"status": Status.HELD, "last_problem": circuit.circuit_problem(credential)}
    delay = retry_delay(attempt_number, retry_after)
    if delay is None:
        gave_up = problems.GAVE_UP(problem=problem, attempts=attempt_number)
        return given_up_changes(booking, Status.FAILED, gave_up)
    if lost:
        delay = max(delay, settings.DELIVERY_LOST_ANSWER_WAIT, claim_seconds())
    deadline, _ = booking.delivery_deadline()
    # Only the row: the sweep wakes it once due (schedule.dispatch_due); at its deadline at
    # the latest, when its claim ends it too late.
    return {
        "status": Status.RETRYING,
        "next_attempt_at": min(timezone.now() + timedelta(seconds=delay), deadline),
    }


def given_up_changes(booking: Booking, status: str, problem: Problem) -> dict:
    """How a booking that will not be sent again ends: `status` for `problem`, unless one
    of its posts in this run got no answer: then it most likely landed, and staff check."""
    lost = booking.lost_answer_count
    if lost:
        return {
            "status": Status.PROBABLY_DELIVERED,
            "next_attempt_at": None,
            "last_problem": problems.ANSWERS_LOST(posts=lost),
            # When it most likely landed, as far as we can tell: the quarantine mirror
            # dates its entry from it, like a delivered booking's.
            "delivered_at": timezone.now(),
        }
    return {"status": status, "next_attempt_at": None, "last_problem": problem}


def release(booking: Booking, **changes) -> bool:
    """Save the claimed booking's new state and give up the claim, if this worker still
    holds it: a claim that ran out may belong to the sweep or another worker by now
    (its `claimed_until` is the owner's token)."""
    token = booking.claimed_until
    changes |= {"claimed_until": None, "updated_at": timezone.now()}
    released = release_statement(frozenset(changes)).run(
        booking_id=booking.pk, token=token, **changes
    )
    if not released:
        logger.warning(
            "Booking %s: claim lost before its result was saved",
            booking.pk,
            extra={"booking_id": booking.pk},
        )
    elif changes.get("status") in Status.given_up():
        notify_buyer(booking.pk, changes["status"])
    elif changes.get("status") == Status.DELIVERED:
        correct_buyer(booking)
    for name, value in changes.items():
        setattr(booking, name, value)
    if released and changes.get("status") in Status.alerted():
        alert_stopped(booking.pk, changes["last_problem"])
    return bool(released)


@functools.cache
def release_statement(fields: frozenset[str]) -> PreparedUpdate:
    """The release's UPDATE of these fields, prepared (a handful of sets of fields occur)."""
    return PreparedUpdate(
        lambda: (
            Booking.objects.filter(
                pk=Param("booking_id", Booking._meta.pk),
                status=Status.SENDING,
                claimed_until=Param("token", DateTimeField()),
            ),
            {name: Param(name, Booking._meta.get_field(name)) for name in fields},
        )
    )


def alert_stopped(booking_id: int, problem) -> None:
    booking = Booking.objects.select_related("viewing").get(pk=booking_id)
    record_alert(
        booking.viewing.agency_id,
        AlertKind.BOOKINGS_STOPPED,
        # The booking's number and viewing, never the buyer: an alert is kept and mailed on,
        # out of reach of erasure and retention (bookings/privacy/); the link shows the rest.
        f"#{booking.pk} {booking.viewing} ({booking.get_status_display()})",
        problem,
        reverse("admin:bookings_booking_change", args=[booking_id]),
    )


def retry_delay(attempt_number: int, retry_after: float | None = None) -> float | None:
    """Seconds to wait after failed attempt `attempt_number`, or None to give up.
    Follows settings.DELIVERY_RETRY_SCHEDULE with jitter, never sooner than the
    provider's Retry-After."""
    schedule = settings.DELIVERY_RETRY_SCHEDULE
    if attempt_number > len(schedule):
        return None
    delay = schedule[attempt_number - 1] * random.uniform(1 - RETRY_JITTER, 1 + RETRY_JITTER)
    return max(delay, min(retry_after or 0, circuit.MAX_RETRY_AFTER))


def record_attempt(
    booking: Booking, credential: ProviderCredential | None, record: CallRecord, outcome: Outcome
) -> DeliveryAttempt:
    if record.status is None:
        answer = f"no answer: {record.describe()}: {record.error}"
    else:
        answer = f"HTTP {record.status}: {record.text}"
    return NEW_ATTEMPT.save(
        DeliveryAttempt(
            booking=booking,
            endpoint=f"{record.method} {record.endpoint}"[:500],
            url=record.url[:2000],
            http_status=record.status,
            duration_ms=record.duration_ms,
            outcome=outcome,
            # Redact first: a secret cut at the end of the excerpt would no longer match.
            response_excerpt=redact_answer(answer, credential, booking)[:EXCERPT_LENGTH],
        )
    )
