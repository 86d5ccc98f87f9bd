"""Two workers never deliver the same booking."""

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from bookings.delivery import sending
from bookings.models import Booking
from tests.factories import make_booking


def deliver_all_in_threads(booking_ids, workers):
    """Each thread is a worker (with its own database connection) trying every booking."""

    def worker(seed):
        try:
            ids = list(booking_ids)
            random.Random(seed).shuffle(ids)
            return [sending.deliver(pk) for pk in ids]
        finally:
            connection.close()

    with ThreadPoolExecutor(workers) as pool:
        return [outcome for outcomes in pool.map(worker, range(workers)) for outcome in outcomes]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_deliver_each_booking_once_on_postgresql(make_agency, sandbox):
    sandbox.set_latency(0.01)
    agency = make_agency()
    booking_ids = [make_booking(agency).pk for _ in range(30)]

    outcomes = deliver_all_in_threads(booking_ids, workers=6)

    assert outcomes.count("delivered") == 30
    posted = [r["body"]["email"] for r in sandbox.received()]
    assert len(posted) == len(set(posted)) == 30
    assert set(Booking.objects.values_list("status", flat=True)) == {"delivered"}
    assert all(b.attempts.count() == 1 for b in Booking.objects.all())


@pytest.mark.django_db
def test_a_claimed_booking_cannot_be_claimed_again(make_agency):
    booking = make_booking(make_agency())

    assert sending.claim(booking.pk) is not None
    assert sending.claim(booking.pk) is None


@pytest.mark.django_db
def test_a_worker_whose_claim_passed_to_another_does_not_overwrite_it(make_agency):
    booking = make_booking(make_agency())
    mine = sending.claim(booking.pk)
    theirs = timezone.now() + timedelta(minutes=5)
    Booking.objects.filter(pk=booking.pk).update(claimed_until=theirs)  # taken over

    assert not sending.release(mine, status=Booking.Status.RETRYING)

    booking.refresh_from_db()
    assert (booking.status, booking.claimed_until) == (Booking.Status.SENDING, theirs)
