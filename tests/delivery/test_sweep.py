"""The periodic sweep: what a killed worker or a lost task left behind."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from agencies.models import BrokerSystem, CredentialStatus
from bookings import delivery
from bookings.models import Booking
from bookings.tasks import enqueue_delivery

Status = Booking.Status
LONG_AGO = timedelta(minutes=5)


def age(booking, by=LONG_AGO, **fields):
    """Make a booking look as if it was last touched `by` ago."""
    Booking.objects.filter(pk=booking.pk).update(updated_at=timezone.now() - by, **fields)


def waiting_tasks():
    return sorted(delivery.waiting_task_booking_ids())


@pytest.mark.django_db
def test_sweep_enqueues_a_due_booking_whose_task_is_missing(make_agency, make_booking):
    booking = make_booking(make_agency())
    age(booking)

    assert delivery.sweep()["requeued"] == 1
    assert waiting_tasks() == [booking.pk]


@pytest.mark.django_db
def test_sweep_leaves_a_booking_with_a_waiting_task_alone(make_agency, make_booking):
    booking = make_booking(make_agency())
    age(booking)
    enqueue_delivery(booking.pk)

    assert delivery.sweep()["requeued"] == 0
    assert DBTaskResult.objects.count() == 1


@pytest.mark.django_db
@override_settings(DELIVERY_SWEEP_GRACE=10)
def test_sweep_leaves_a_just_saved_booking_to_its_own_task(make_agency, make_booking):
    make_booking(make_agency())

    assert delivery.sweep()["requeued"] == 0


@pytest.mark.django_db
def test_sweep_leaves_a_retry_that_is_not_due(make_agency, make_booking):
    booking = make_booking(make_agency(), status=Status.RETRYING)
    age(booking, next_attempt_at=timezone.now() + timedelta(minutes=1))

    assert delivery.sweep()["requeued"] == 0


@pytest.mark.django_db
def test_sweep_sends_an_interrupted_mspecs_booking_again(make_agency, make_booking):
    booking = make_booking(make_agency(BrokerSystem.MSPECS), status=Status.SENDING)
    age(booking, claimed_until=timezone.now() - timedelta(seconds=1))

    assert delivery.sweep()["interrupted"] == 1

    booking.refresh_from_db()
    assert (booking.status, booking.attempt_count) == (Status.QUEUED, 1)
    assert booking.attempts.get().outcome == "interrupted"
    assert delivery.deliver(booking.pk) == "delivered"


@pytest.mark.django_db
def test_sweep_sends_an_interrupted_vitec_booking_to_review(make_agency, make_booking):
    booking = make_booking(make_agency(BrokerSystem.VITEC), status=Status.SENDING)
    age(booking, claimed_until=timezone.now() - timedelta(seconds=1))

    delivery.sweep()

    booking.refresh_from_db()
    assert booking.status == Status.NEEDS_REVIEW
    assert "may have saved" in booking.last_error


@pytest.mark.django_db
def test_sweep_leaves_a_booking_being_sent_alone(make_agency, make_booking):
    booking = make_booking(make_agency(), status=Status.SENDING)
    age(booking, claimed_until=timezone.now() + timedelta(seconds=30))

    assert delivery.sweep() == {"interrupted": 0, "resumed": 0, "requeued": 0}


@pytest.mark.parametrize(
    ("credential_status", "booking_status"),
    [(CredentialStatus.OK, Status.QUEUED), (CredentialStatus.FAILING, Status.HELD)],
)
@pytest.mark.django_db
def test_sweep_resumes_held_bookings_only_once_their_credential_works(
    make_agency, make_booking, credential_status, booking_status
):
    agency = make_agency()
    booking = make_booking(agency, status=Status.HELD)
    agency.credential.mark_status(credential_status)

    delivery.sweep()

    booking.refresh_from_db()
    assert booking.status == booking_status


@pytest.mark.django_db
@override_settings(DELIVERY_RETRY_SCHEDULE=[30])
def test_sweep_fails_an_interrupted_booking_that_had_no_attempts_left(make_agency, make_booking):
    booking = make_booking(make_agency(BrokerSystem.MSPECS), status=Status.SENDING)
    age(booking, attempt_count=1, claimed_until=timezone.now() - timedelta(seconds=1))

    delivery.sweep()

    booking.refresh_from_db()
    assert (booking.status, booking.attempt_count) == (Status.FAILED, 2)


@pytest.mark.django_db
def test_a_worker_does_not_overwrite_a_booking_the_sweep_took_over(make_agency, make_booking):
    booking = delivery.claim(make_booking(make_agency()).pk)
    Booking.objects.filter(pk=booking.pk).update(status=Status.NEEDS_REVIEW)

    delivery.release(booking, status=Status.DELIVERED)

    booking.refresh_from_db()
    assert booking.status == Status.NEEDS_REVIEW
