"""Prepared queries (bookings/prepared.py) do what the querysets they stand for do; the
delivery worker's prepared bookkeeping leaves the task rows as django-tasks-db does."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from agencies.models import Provider
from bookings.delivery import sending
from bookings.delivery.schedule import due_filter
from bookings.delivery.tasks import deliver_booking
from bookings.delivery.worker import Worker
from bookings.models import Booking, DeliveryAttempt
from tests.factories import make_booking

Status = Booking.Status

pytestmark = pytest.mark.django_db

READ = ("viewing__agency__credential", "slot")


def test_the_claims_read_is_the_querysets_with_the_columns_delivery_uses(make_agency):
    for booking in (
        make_booking(make_agency(Provider.MSPECS)),
        make_booking(make_agency(Provider.VITEC)),  # in a slot
    ):
        prepared = sending.CLAIMED_BOOKING.first(booking_id=booking.pk)
        plain = Booking.objects.select_related(*READ).get(pk=booking.pk)
        loaded = set(prepared.__dict__) - prepared.get_deferred_fields()
        for name in {field.attname for field in Booking._meta.concrete_fields} & loaded:
            assert getattr(prepared, name) == getattr(plain, name), name
        with CaptureQueriesContext(connection) as queries:
            credential = prepared.viewing.agency.credential
            assert credential.agency is prepared.viewing.agency
            assert credential.secret == plain.viewing.agency.credential.secret
            assert prepared.slot == plain.slot
            assert prepared.delivery_deadline() == plain.delivery_deadline()
            assert prepared.unbookable_reason == plain.unbookable_reason
            assert prepared.accepted_after_deadline == plain.accepted_after_deadline
            # A retry counts its attempts since the schedule last restarted.
            assert prepared.attempts_before_run == plain.attempts_before_run
        assert not queries.captured_queries  # nothing delivery reads was left out
    assert sending.CLAIMED_BOOKING.first(booking_id=0) is None


def test_the_prepared_claim_takes_a_due_booking_once(make_agency):
    booking = make_booking(make_agency())
    now = timezone.now()
    later = now + timedelta(minutes=5)
    Booking.objects.filter(pk=booking.pk).update(status=Status.RETRYING, next_attempt_at=later)
    assert sending.CLAIM.run(booking_id=booking.pk, now=now, claimed_until=later) == 0
    assert Booking.objects.filter(due_filter(later), pk=booking.pk).exists()
    assert sending.CLAIM.run(booking_id=booking.pk, now=later, claimed_until=later) == 1
    assert sending.CLAIM.run(booking_id=booking.pk, now=later, claimed_until=later) == 0
    booking.refresh_from_db()
    assert (booking.status, booking.claimed_until, booking.send_started_at) == (
        Status.SENDING,
        later,
        later,
    )


def test_a_delivery_runs_five_statements(make_agency):
    """Claim, read, and the outcome's attempt and release in one transaction: a column the
    read leaves out but delivery needs would add a statement here."""
    for system in (Provider.MSPECS, Provider.VITEC):
        booking = make_booking(make_agency(system))
        sending.claim(booking.pk)  # the first: a client and session for the credential
        Booking.objects.filter(pk=booking.pk).update(status=Status.QUEUED)
        with CaptureQueriesContext(connection) as queries:
            assert sending.deliver(booking.pk) == "delivered"
        statements = [q["sql"].split()[0] for q in queries.captured_queries]
        assert [s for s in statements if s not in ("SAVEPOINT", "RELEASE")] == [
            "UPDATE",
            "SELECT",
            "INSERT",
            "UPDATE",
        ], statements


def test_the_prepared_attempt_row_is_the_one_create_makes(make_agency):
    booking = make_booking(make_agency())
    values = {
        "booking": booking,
        "endpoint": "POST /viewings/1/viewers",
        "url": "https://api.example.se/viewings/1/viewers",
        "http_status": 201,
        "outcome": "delivered",
        "response_excerpt": "HTTP 201: {}",
    }

    prepared = sending.NEW_ATTEMPT.save(DeliveryAttempt(**values))
    created = DeliveryAttempt.objects.create(**values)

    assert prepared.pk is not None and not prepared._state.adding
    stored = DeliveryAttempt.objects.values().get(pk=prepared.pk)
    assert stored.pop("started_at") == prepared.started_at  # the default, as save() sets it
    expected = DeliveryAttempt.objects.values().get(pk=created.pk)
    del expected["started_at"]
    assert stored | {"id": None} == expected | {"id": None}


def test_nothing_listens_to_the_save_signals_the_prepared_attempt_skips():
    for signal in (pre_save, post_save):
        assert not signal.has_listeners(DeliveryAttempt), signal


def run_worker():
    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="worker-1",
        excluded_queue_names=[],
    ).run()


@pytest.mark.django_db(transaction=True)  # the loop closes old connections, as a worker does
def test_the_workers_task_rows_end_as_django_tasks_db_leaves_them(make_agency):
    booking = make_booking(make_agency())
    done = deliver_booking.enqueue(booking.pk)
    broken = deliver_booking.enqueue("not a booking id")

    run_worker()

    row = DBTaskResult.objects.get(pk=done.id)
    assert (row.status, row.return_value, row.worker_ids) == (
        "SUCCESSFUL",
        "delivered",
        ["worker-1"],
    )
    assert row.started_at <= row.finished_at
    row = DBTaskResult.objects.get(pk=broken.id)
    assert (row.status, row.worker_ids) == ("FAILED", ["worker-1"])
    assert row.exception_class_path and row.traceback
    assert Booking.objects.get(pk=booking.pk).status == Status.DELIVERED
