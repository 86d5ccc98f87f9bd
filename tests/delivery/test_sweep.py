"""The periodic sweep: what a killed worker left behind, and the dispatcher that wakes
what is due (the booking row is the only schedule)."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from agencies.models import CredentialStatus, Provider
from bookings.delivery import sending, sweep, task_rows
from bookings.delivery.tasks import deliver_booking, dispatch_deliveries
from bookings.models import Booking, Outcome
from bookings.providers.base import delivery_calls_in_flight
from tests.conftest import wait_until
from tests.factories import in_english, make_booking

Status = Booking.Status
LONG_AGO = timedelta(minutes=5)


def long_ago():
    return timezone.now() - LONG_AGO


def age(booking, by=LONG_AGO, **fields):
    """Make a booking look as if it was last touched `by` ago."""
    Booking.objects.filter(pk=booking.pk).update(updated_at=timezone.now() - by, **fields)


@pytest.mark.django_db
def test_sweep_wakes_a_due_booking_whose_wake_up_was_lost(
    make_agency, woken, django_capture_on_commit_callbacks
):
    booking = make_booking(make_agency())
    age(booking)

    with django_capture_on_commit_callbacks(execute=True):
        assert sweep.sweep()["dispatched"] == 1

    assert woken() == [booking.pk]


@pytest.mark.django_db
def test_sweep_wakes_a_woken_booking_only_once_per_grace_period(
    make_agency, woken, django_capture_on_commit_callbacks
):
    booking = make_booking(make_agency())
    age(booking)

    with django_capture_on_commit_callbacks(execute=True):
        sweep.sweep()
        assert sweep.sweep()["dispatched"] == 0

    assert woken() == [booking.pk]


@pytest.mark.django_db
@override_settings(DELIVERY_SWEEP_GRACE=10)
def test_sweep_leaves_a_just_saved_booking_to_its_own_wake_up(make_agency):
    make_booking(make_agency())

    assert sweep.sweep()["dispatched"] == 0


@pytest.mark.django_db
def test_sweep_leaves_a_retry_that_is_not_due(make_agency):
    booking = make_booking(make_agency(), status=Status.RETRYING)
    age(booking, next_attempt_at=timezone.now() + timedelta(minutes=1))

    assert sweep.sweep()["dispatched"] == 0


@pytest.mark.django_db
def test_a_retry_only_sets_the_row_and_the_sweep_wakes_it_once_due(
    make_agency, sandbox, woken, django_capture_on_commit_callbacks
):
    booking = make_booking(make_agency())
    sandbox.set_fault("status", status=503, count=1)

    with django_capture_on_commit_callbacks(execute=True):
        assert sending.deliver(booking.pk) == Outcome.RETRY
        assert sweep.sweep()["dispatched"] == 0  # not due yet
    booking.refresh_from_db()
    assert booking.status == Status.RETRYING and booking.next_attempt_at > timezone.now()
    assert woken() == []  # nothing but the row says when to try again

    age(booking, next_attempt_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep.sweep()["dispatched"] == 1

    assert woken() == [booking.pk]
    assert sending.deliver(booking.pk) == Outcome.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_wake_ups_of_one_due_booking_from_repeated_sweeps_send_it_once(make_agency, sandbox):
    booking = make_booking(make_agency())
    for _ in range(3):  # three sweeps, each after the booking's wake-up was lost
        age(booking)
        assert sweep.sweep()["dispatched"] == 1  # enqueued in the task table at once

    # Every task runs; the first claims and sends, the others find nothing due.
    outcomes = [sending.deliver(booking.pk) for _ in range(DBTaskResult.objects.count())]

    assert outcomes == [Outcome.DELIVERED, None, None]
    assert len(sandbox.received()) == 1


@pytest.mark.django_db
@override_settings(DELIVERY_LOST_ANSWER_WAIT=600)
def test_sweep_sends_an_interrupted_mspecs_booking_again_after_the_lost_answer_wait(make_agency):
    booking = make_booking(make_agency(Provider.MSPECS), status=Status.SENDING)
    age(booking, claimed_until=timezone.now() - timedelta(seconds=1), send_started_at=long_ago())

    assert sweep.sweep()["interrupted"] == 1

    booking.refresh_from_db()
    assert (booking.status, booking.attempt_count) == (Status.RETRYING, 1)
    assert booking.next_attempt_at >= timezone.now() + timedelta(seconds=590)
    assert booking.attempts.get().outcome == Outcome.INTERRUPTED
    Booking.objects.filter(pk=booking.pk).update(next_attempt_at=timezone.now())
    assert sending.deliver(booking.pk) == Outcome.DELIVERED


@pytest.mark.django_db
def test_sweep_sends_an_interrupted_vitec_booking_to_review(make_agency):
    booking = make_booking(make_agency(Provider.VITEC), status=Status.SENDING)
    age(booking, claimed_until=timezone.now() - timedelta(seconds=1), send_started_at=long_ago())

    sweep.sweep()

    booking.refresh_from_db()
    assert booking.status == Status.NEEDS_REVIEW
    assert "may have saved" in in_english(booking.last_problem)


@pytest.mark.django_db
def test_sweep_leaves_a_booking_being_sent_alone(make_agency):
    booking = make_booking(make_agency(), status=Status.SENDING)
    age(booking, claimed_until=timezone.now() + timedelta(seconds=30))

    assert sweep.sweep() == {"interrupted": 0, "resumed": 0, "probes": 0, "dispatched": 0}


@pytest.mark.parametrize(
    ("credential_status", "booking_status"),
    [(CredentialStatus.OK, Status.QUEUED), (CredentialStatus.FAILING, Status.HELD)],
)
@pytest.mark.django_db
def test_sweep_resumes_held_bookings_only_once_their_credential_works(
    make_agency, credential_status, booking_status
):
    agency = make_agency()
    booking = make_booking(agency, status=Status.HELD)
    agency.credential.mark_status(credential_status)

    sweep.sweep()

    booking.refresh_from_db()
    assert booking.status == booking_status


@pytest.mark.django_db
@override_settings(DELIVERY_RETRY_SCHEDULE=[30])
def test_an_interrupted_mspecs_booking_without_attempts_left_is_probably_delivered(make_agency):
    booking = make_booking(make_agency(Provider.MSPECS), status=Status.SENDING)
    age(
        booking,
        attempt_count=1,
        claimed_until=timezone.now() - timedelta(seconds=1),
        send_started_at=long_ago(),
    )

    sweep.sweep()

    booking.refresh_from_db()
    # Its last post may have landed: staff check rather than read "failed".
    assert (booking.status, booking.attempt_count) == (Status.PROBABLY_DELIVERED, 2)


@pytest.mark.django_db
def test_a_worker_does_not_overwrite_a_booking_the_sweep_took_over(make_agency):
    booking = sending.claim(make_booking(make_agency()).pk)
    Booking.objects.filter(pk=booking.pk).update(status=Status.NEEDS_REVIEW)

    sending.release(booking, status=Status.DELIVERED)

    booking.refresh_from_db()
    assert booking.status == Status.NEEDS_REVIEW


def expire_claim(booking):
    Booking.objects.filter(pk=booking.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )


@pytest.mark.django_db
def test_sweep_sends_a_vitec_booking_whose_worker_died_holding_its_claim_to_review(make_agency):
    booking = sending.claim(make_booking(make_agency(Provider.VITEC)).pk)
    expire_claim(booking)  # the worker died sending it, or about to

    sweep.sweep()

    booking.refresh_from_db()
    assert (booking.status, booking.attempt_count) == (Status.NEEDS_REVIEW, 1)
    attempt = booking.attempts.get()
    assert (attempt.outcome, attempt.started_at) == (Outcome.INTERRUPTED, booking.send_started_at)


@pytest.mark.django_db
def test_sweep_recovers_a_booking_claimed_before_claims_marked_the_send(make_agency):
    booking = sending.claim(make_booking(make_agency(Provider.VITEC)).pk)
    Booking.objects.filter(pk=booking.pk).update(send_started_at=None)
    expire_claim(booking)

    sweep.sweep()

    attempt = booking.attempts.get()
    assert (attempt.outcome, attempt.started_at) == (Outcome.INTERRUPTED, booking.updated_at)
    booking.refresh_from_db()
    assert booking.status == Status.NEEDS_REVIEW


def deliver_while_every_call_slot_is_busy(booking, meanwhile) -> list:
    """Run sending.deliver(booking) on a thread while this thread holds the only call slot;
    `meanwhile()` runs once the booking waits for the slot. Returns deliver's outcome."""
    outcome = []

    def worker():
        try:
            outcome.append(sending.deliver(booking.pk))
        finally:
            connection.close()

    with delivery_calls_in_flight():
        thread = threading.Thread(target=worker)
        thread.start()
        wait_until(lambda: Booking.objects.get(pk=booking.pk).status == Status.SENDING)
        meanwhile()
    thread.join(timeout=10)
    return outcome


def let_the_claim_run_out(booking) -> None:
    claimed_until = Booking.objects.get(pk=booking.pk).claimed_until
    time.sleep((claimed_until - timezone.now()).total_seconds() + 0.01)


# One call slot, and claims of 0.4 s (a call of 0.2 s at most, after one wait).
SHORT_CLAIMS = override_settings(
    DELIVERY_CONCURRENCY=1,
    DELIVERY_WORKER_THREADS=1,
    BROKER_CONNECT_TIMEOUT=0.1,
    BROKER_READ_TIMEOUT=0.1,
)


@pytest.mark.django_db(transaction=True)
@SHORT_CLAIMS
def test_a_booking_whose_claim_ran_out_while_waiting_for_a_call_slot_is_queued_unsent(
    make_agency, sandbox
):
    booking = make_booking(make_agency(Provider.VITEC))

    outcome = deliver_while_every_call_slot_is_busy(booking, lambda: let_the_claim_run_out(booking))

    assert outcome == [None]
    assert sandbox.received() == []
    booking.refresh_from_db()
    assert (booking.status, booking.attempt_count) == (Status.QUEUED, 0)


@pytest.mark.django_db(transaction=True)
@SHORT_CLAIMS
def test_a_booking_the_sweep_took_while_it_waited_for_a_call_slot_is_not_sent(make_agency, sandbox):
    booking = make_booking(make_agency(Provider.VITEC))

    def worker_dies_as_far_as_the_sweep_can_tell():
        let_the_claim_run_out(booking)
        sweep.sweep()

    outcome = deliver_while_every_call_slot_is_busy(
        booking, worker_dies_as_far_as_the_sweep_can_tell
    )

    assert outcome == [None]
    assert sandbox.received() == []
    booking.refresh_from_db()
    # Claimed, it may have gone out as far as the sweep can tell: staff check rather than
    # risk a second post to Vitec.
    assert booking.status == Status.NEEDS_REVIEW


def task_row(booking, status, started_ago):
    """A delivery task row of the django-tasks-db backend in the given state."""
    deliver_booking.enqueue(booking.pk)
    row = DBTaskResult.objects.get()
    DBTaskResult.objects.filter(pk=row.pk).update(
        status=status, started_at=timezone.now() - started_ago
    )
    return row


@pytest.mark.django_db
def test_housekeeping_closes_a_delivery_task_a_killed_worker_left_running(make_agency):
    row = task_row(
        make_booking(make_agency()), "RUNNING", timedelta(seconds=sending.claim_seconds() + 1)
    )

    assert task_rows.close_abandoned_tasks(deliver_booking) == 1

    row.refresh_from_db()
    assert row.status == "FAILED" and row.finished_at is not None
    assert row.task_result.errors[0].exception_class_path.endswith("WorkerStopped")


@pytest.mark.django_db
def test_housekeeping_leaves_a_delivery_task_still_within_its_claim_running(make_agency):
    row = task_row(make_booking(make_agency()), "RUNNING", timedelta(seconds=1))

    assert task_rows.close_abandoned_tasks(deliver_booking) == 0

    row.refresh_from_db()
    assert row.status == "RUNNING"


@pytest.mark.parametrize(
    ("started_ago", "closed"), [(timedelta(minutes=10), 0), (timedelta(hours=2), 1)]
)
@pytest.mark.django_db
def test_housekeeping_closes_another_task_left_running_only_after_an_hour(started_ago, closed):
    dispatch_deliveries.enqueue()
    DBTaskResult.objects.update(status="RUNNING", started_at=timezone.now() - started_ago)

    assert task_rows.close_abandoned_tasks(deliver_booking) == closed


@pytest.mark.django_db
def test_housekeeping_leaves_another_task_backend_alone(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}

    assert task_rows.close_abandoned_tasks(deliver_booking) == 0


@pytest.mark.django_db
@override_settings(BROKER_CONNECT_TIMEOUT=0, BROKER_READ_TIMEOUT=0)
def test_a_worker_whose_claim_ran_out_before_its_call_queues_the_booking_unsent(
    make_agency, sandbox, woken, django_capture_on_commit_callbacks
):
    booking = make_booking(make_agency(Provider.VITEC))  # claims last no time at all

    with django_capture_on_commit_callbacks(execute=True):
        assert sending.deliver(booking.pk) is None

    assert sandbox.received() == []
    booking.refresh_from_db()
    assert (booking.status, booking.attempt_count) == (Status.QUEUED, 0)
    assert woken() == [booking.pk]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_dispatcher_skips_a_booking_another_transaction_holds_instead_of_waiting(
    make_agency, woken
):
    agency = make_agency()
    held_elsewhere, free = make_booking(agency), make_booking(agency)
    age(held_elsewhere)
    age(free)
    locked, done = threading.Event(), threading.Event()

    def other_dispatcher():
        try:
            with transaction.atomic():
                Booking.objects.select_for_update().get(pk=held_elsewhere.pk)
                locked.set()
                done.wait(timeout=10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_dispatcher)
    thread.start()
    try:
        assert locked.wait(timeout=10)
        assert sweep.sweep()["dispatched"] == 1  # returns at once: no waiting for the lock
    finally:
        done.set()
        thread.join(timeout=10)

    assert woken() == [free.pk]
