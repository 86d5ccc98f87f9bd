"""Fault tests with real worker processes (`manage.py delivery_worker`, `manage.py
crontask`) on the shared test database, against the sandbox over real HTTP."""

import time
from datetime import timedelta

from django.utils import timezone

from agencies.models import Provider
from bookings.delivery.credentials import save_credential
from bookings.delivery.schedule import wake_delivery
from bookings.models import Booking
from tests.conftest import WORKER, WORKER_THREADS, count_status, wait_until
from tests.factories import make_booking, make_slot, queue

Status = Booking.Status
# Retries are woken by the dispatcher (`crontask`), which must then run often.
FAST_RETRIES = {
    "DELIVERY_RETRY_SCHEDULE": "0.3,0.5,1,1,2,2,4",
    "DELIVERY_SWEEP_SECONDS": "0.2",
    "DELIVERY_SWEEP_GRACE": "0.1",
    "CIRCUIT_BREAKER_PROBE_SECONDS": "0.2",
    "CIRCUIT_BREAKER_PROBE_MAX_SECONDS": "1",
}
# Short provider timeouts make a killed worker's claim run out in 2 s.
FAST_RECOVERY = {
    "BROKER_CONNECT_TIMEOUT": "0.5",
    "BROKER_READ_TIMEOUT": "0.5",
    "DELIVERY_SWEEP_SECONDS": "0.5",
    "DELIVERY_SWEEP_GRACE": "0.5",
    "DELIVERY_LOST_ANSWER_WAIT": "0",
}


def posted_emails(sandbox, system):
    return [
        r["body"]["email"]
        if system == "mspecs"
        else r["body"]["updatePerson"]["email"]["emailAddress"]
        for r in sandbox.received(system)
    ]


def test_provider_failing_for_a_while_then_recovering_delivers_each_booking_once(
    make_agency, sandbox, start_process
):
    # Counted, not timed: however slowly the workers start, the first calls meet the outage.
    sandbox.set_fault("status", status=500, count=8)
    bookings = queue(make_agency(Provider.MSPECS), 10)
    bookings += queue(make_agency(Provider.VITEC), 10)

    start_process(*WORKER, **FAST_RETRIES)
    start_process(*WORKER, **FAST_RETRIES)
    start_process("crontask", "--no-heartbeat", **FAST_RETRIES)
    wait_until(lambda: count_status(Status.DELIVERED) == 20, timeout=30)

    emails = posted_emails(sandbox, "mspecs") + posted_emails(sandbox, "vitec")
    assert sorted(emails) == sorted(b.email for b in bookings)  # each exactly once
    failures = Booking.objects.filter(attempts__http_status=500).distinct().count()
    assert failures > 0  # the outage was really felt


def kill_a_worker_mid_batch_then_restart(system, make_agency, sandbox, start):
    """30 bookings at 50 ms each; SIGKILL the worker after 8 are delivered (so most
    likely mid-call on each thread), then start a new worker and the scheduler that runs
    the sweep."""
    sandbox.set_latency(0.05)
    bookings = queue(make_agency(system), 30)
    worker = start(*WORKER, **FAST_RECOVERY)
    wait_until(lambda: count_status(Status.DELIVERED) >= 8)

    worker.kill()  # SIGKILL: no clean-up of its task or its claim
    worker.wait()
    start(*WORKER, **FAST_RECOVERY)
    start("crontask", "--no-heartbeat", **FAST_RECOVERY)
    return bookings


def test_worker_killed_mid_batch_mspecs_all_delivered_after_restart(
    make_agency, sandbox, start_process
):
    bookings = kill_a_worker_mid_batch_then_restart(
        Provider.MSPECS, make_agency, sandbox, start_process
    )
    wait_until(lambda: count_status(Status.DELIVERED) == 30)

    for booking in Booking.objects.all():
        assert booking.attempts.filter(outcome="delivered").count() == 1
    # MSPECS merges by email: a booking re-sent after the kill is still one buyer.
    entries = sandbox.quarantine("viewing-1")
    assert sorted(entries) == sorted(b.email for b in bookings)
    # At most the calls the kill interrupted (one per thread) were posted twice.
    assert len(sandbox.received()) <= 30 + WORKER_THREADS


def test_worker_killed_mid_batch_vitec_never_posts_twice(make_agency, sandbox, start_process):
    bookings = kill_a_worker_mid_batch_then_restart(
        Provider.VITEC, make_agency, sandbox, start_process
    )
    wait_until(lambda: count_status(Status.DELIVERED, Status.NEEDS_REVIEW) == 30)

    emails = posted_emails(sandbox, "vitec")
    assert len(emails) == len(set(emails))  # Vitec adds a participant per post: never twice
    # Only bookings caught mid-call (one per thread) may be in doubt, and they go to staff.
    in_doubt = list(Booking.objects.filter(status=Status.NEEDS_REVIEW))
    assert len(in_doubt) <= WORKER_THREADS
    assert {b.email for b in bookings} - {b.email for b in in_doubt} <= set(emails)


def test_refused_credential_holds_then_resumes_once_fixed(make_agency, sandbox, start_process):
    agency = make_agency(Provider.VITEC, secret="wrong")
    bookings = queue(agency, 10)
    start_process(*WORKER)
    wait_until(lambda: count_status(Status.HELD) == 10)
    # Only the calls already in flight when the first 401 came back: the others were held.
    assert sandbox.requests_served <= WORKER_THREADS

    credential = agency.credential
    credential.refresh_from_db()
    credential.secret = "sandbox-secret"
    save_credential(credential)  # as the admin form does; the held bookings go again

    wait_until(lambda: count_status(Status.DELIVERED) == 10)
    assert sorted(posted_emails(sandbox, "vitec")) == sorted(b.email for b in bookings)


# The old policy's schedule (30 s, 2 min, 10 min, 1 h, 4 h: failed after about 5 h 12 min)
# and today's, both compressed 2,500 times; the circuit breaker's waits too.
COMPRESSION = 2500
OLD_SCHEDULE = [30, 120, 600, 3600, 14400]
COMPRESSED_POLICY = {
    "DELIVERY_RETRY_SCHEDULE": ",".join(
        str(s / COMPRESSION) for s in [10, 60, 300, 1800, 7200, 21600, 43200, 86400, 86400]
    ),
    "CIRCUIT_BREAKER_THRESHOLD": "5",
    "CIRCUIT_BREAKER_PROBE_SECONDS": str(30 / COMPRESSION),
    "CIRCUIT_BREAKER_PROBE_MAX_SECONDS": str(1800 / COMPRESSION),
    "DELIVERY_SWEEP_SECONDS": "0.2",
    "DELIVERY_SWEEP_GRACE": "0.1",
}
# Longer than the old policy's whole schedule, compressed (7.5 s).
OUTAGE_SECONDS = sum(OLD_SCHEDULE) / COMPRESSION * 1.5


def probes_within(seconds: float) -> int:
    """How many probes the compressed circuit breaker sends in `seconds`: the waits double
    from CIRCUIT_BREAKER_PROBE_SECONDS up to CIRCUIT_BREAKER_PROBE_MAX_SECONDS."""
    base = float(COMPRESSED_POLICY["CIRCUIT_BREAKER_PROBE_SECONDS"])
    longest = float(COMPRESSED_POLICY["CIRCUIT_BREAKER_PROBE_MAX_SECONDS"])
    probes, elapsed = 0, 0.0
    while (elapsed := elapsed + min(base * 2**probes, longest)) <= seconds:
        probes += 1
    return probes


def test_an_outage_longer_than_the_old_schedule_loses_nothing_and_duplicates_nothing(
    make_agency, sandbox, start_process
):
    agency = make_agency(Provider.VITEC)
    upcoming = queue(agency, 15)
    # A slot that starts during the outage: its bookings can only end too late.
    soon = make_slot(
        upcoming[0].viewing,
        provider_slot_id="slot-soon",
        starts_at=timezone.now() + timedelta(seconds=3),
    )
    too_late = [make_booking(upcoming[0].viewing, soon) for _ in range(5)]
    for booking in too_late:
        wake_delivery(booking.pk)
    sandbox.set_fault("status", status=500)  # until cleared

    start_process(*WORKER, **COMPRESSED_POLICY)
    start_process(*WORKER, **COMPRESSED_POLICY)
    start_process("crontask", "--no-heartbeat", **COMPRESSED_POLICY)
    wait_until(lambda: sandbox.requests_served > 0)
    time.sleep(OUTAGE_SECONDS)
    calls_during_outage = sandbox.requests_served
    sandbox.clear_fault()

    wait_until(lambda: count_status(Status.DELIVERED, Status.TOO_LATE) == 20, timeout=60)
    emails = posted_emails(sandbox, "vitec")
    assert sorted(emails) == sorted(b.email for b in upcoming)  # none lost, none twice
    assert {b.email for b in Booking.objects.filter(status=Status.TOO_LATE)} == {
        b.email for b in too_late
    }
    # The circuit held the agency: the failures that opened it, the calls under way then, and
    # one probe at a time; not a call per booking per retry (the old policy: 20 x 5).
    assert calls_during_outage <= 5 + 2 * WORKER_THREADS + probes_within(OUTAGE_SECONDS) + 2
    assert Booking.objects.filter(attempts__http_status=500).exists()  # the outage was felt
