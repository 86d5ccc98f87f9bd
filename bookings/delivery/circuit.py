"""The circuit breaker per credential (docs/delivery.md).

A provider that answers 5xx or 429, times out or cannot be reached
CIRCUIT_BREAKER_THRESHOLD times in a row gets no more calls with every booking: the circuit
opens, the agency's waiting bookings are held (status `held`, the problem saying why), and
one booking at a time probes the provider, first after CIRCUIT_BREAKER_PROBE_SECONDS,
then twice as long each time up to CIRCUIT_BREAKER_PROBE_MAX_SECONDS, never sooner than a
Retry-After. The first answer that is not a failure closes the circuit and sends every held
booking again. A refused login (401/403) is not a failure here: it holds the agency through
the credential's own status (credentials.hold_agency).

The state is on the credential (`ProviderCredential.circuit_is_open`, `circuit_problem`,
`circuit_next_probe_at`); every change is one conditional UPDATE, so workers in several
processes agree on it.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from agencies.models import ProviderCredential
from agencies.problems import Problem
from bookings.delivery.credentials import alert_credential_failing, resume_held
from bookings.delivery.schedule import wake_delivery
from bookings.models import Booking
from bookings.problems import delivery as problems

Status = Booking.Status


def probe_wait(probes: int, retry_after: float | None = None) -> timedelta:
    """How long after probe number `probes` (0: the circuit just opened) the next one goes."""
    base = settings.CIRCUIT_BREAKER_PROBE_SECONDS
    seconds = min(base * 2**probes, settings.CIRCUIT_BREAKER_PROBE_MAX_SECONDS)
    return timedelta(seconds=max(seconds, retry_after or 0))


def note_failure(
    credential: ProviderCredential, answer: Problem, retry_after: float | None
) -> bool:
    """Count a failed call (`answer`: what came back, or why nothing did) on the credential;
    open its circuit, holding the agency's waiting bookings, at the threshold. Returns
    whether the circuit is open now."""
    now = timezone.now()
    credentials = ProviderCredential.objects.filter(pk=credential.pk)
    credentials.update(consecutive_failures=F("consecutive_failures") + 1)
    opened = credentials.filter(
        circuit_opened_at__isnull=True,
        consecutive_failures__gte=settings.CIRCUIT_BREAKER_THRESHOLD,
    ).update(
        circuit_opened_at=now,
        circuit_problem=problems.CIRCUIT_OPEN(
            failures=settings.CIRCUIT_BREAKER_THRESHOLD, answer=answer
        ),
        circuit_probes=0,
        circuit_next_probe_at=now + probe_wait(0, retry_after),
    )
    if opened:
        hold_waiting(credential)
        # The agency's administrators hear of it like of a refused credential.
        credential.refresh_from_db(fields=["circuit_problem"])
        alert_credential_failing(credential, credential.circuit_problem)
        return True
    if retry_after:
        # Already open (a probe, or a call that was under way): honour the provider's wish.
        credentials.filter(
            circuit_opened_at__isnull=False,
            circuit_next_probe_at__lt=now + timedelta(seconds=retry_after),
        ).update(circuit_next_probe_at=now + timedelta(seconds=retry_after))
    return credentials.filter(circuit_opened_at__isnull=False).exists()


def note_answer(credential: ProviderCredential) -> int:
    """The provider answered (anything but a failure): the failures are no longer in a
    row, and an open circuit closes, sending the held bookings again. Returns how many.
    Nothing to reset as the credential was loaded with the booking is the common case: then
    no write at all, rather than one per delivery queueing behind every other writer. (A
    failure counted by another worker since then is reset by the next answer; a circuit it
    opened meanwhile closes at its next probe.)"""
    if not (credential.consecutive_failures or credential.circuit_is_open):
        return 0
    if credential.close_circuit():
        return resume_held(credential.agency_id)
    return 0


def hold_waiting(credential: ProviderCredential) -> int:
    waiting = Booking.objects.filter(
        viewing__agency=credential.agency_id, status__in=Status.waiting()
    )
    return waiting.update(
        status=Status.HELD, last_problem=circuit_problem(credential), updated_at=timezone.now()
    )


def circuit_problem(credential: ProviderCredential) -> Problem | None:
    return (
        ProviderCredential.objects.filter(pk=credential.pk)
        .values_list("circuit_problem", flat=True)
        .first()
    )


def may_send(credential: ProviderCredential) -> bool:
    """Whether a booking of this credential's agency may be sent now: yes while the circuit
    is closed; while it is open, only as the probe once one is due (taken by one UPDATE, so
    one booking probes at a time)."""
    if not credential.circuit_is_open:
        return True
    now = timezone.now()
    credentials = ProviderCredential.objects.filter(pk=credential.pk)
    taken = credentials.filter(
        circuit_opened_at__isnull=False,
        circuit_probes=credential.circuit_probes,
        circuit_next_probe_at__lte=now,
    ).update(
        circuit_probes=F("circuit_probes") + 1,
        circuit_next_probe_at=now + probe_wait(credential.circuit_probes + 1),
    )
    # Or the circuit closed since the credential was loaded.
    return bool(taken) or credentials.filter(circuit_opened_at__isnull=True).exists()


def wake_probes() -> int:
    """For the sweep: each open circuit whose probe is due, with nothing of its agency on the
    way already, gets its oldest held booking queued as the probe. Returns how many."""
    now = timezone.now()
    woken = 0
    due = ProviderCredential.objects.filter(
        circuit_opened_at__isnull=False, circuit_next_probe_at__lte=now
    ).values_list("agency_id", flat=True)
    for agency_id in due:
        bookings = Booking.objects.filter(viewing__agency=agency_id)
        if bookings.filter(status__in=Status.on_the_way()).exists():
            continue  # a booking on its way probes when it is claimed
        probe = bookings.filter(status=Status.HELD).order_by("created_at", "pk").first()
        if probe is None:
            continue
        if bookings.filter(pk=probe.pk, status=Status.HELD).update(
            status=Status.QUEUED, next_attempt_at=None, updated_at=now
        ):
            wake_delivery(probe.pk)
            woken += 1
    return woken
