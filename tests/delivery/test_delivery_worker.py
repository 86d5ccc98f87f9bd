"""`manage.py delivery_worker`: django-tasks-db worker loops as threads of one process,
run as a real process on the test database against the sandbox."""

import signal

from django_tasks_db.models import DBTaskResult

from bookings.models import Booking
from tests.conftest import WORKER, count_status, wait_until
from tests.factories import queue

Status = Booking.Status


def test_threads_deliver_every_booking_once_with_calls_in_flight_bounded(
    make_agency, sandbox, start_process
):
    sandbox.set_latency(0.2)
    bookings = queue(make_agency(), 12)

    start_process(*WORKER, "--threads", "4", DELIVERY_CONCURRENCY=2)
    wait_until(lambda: count_status(Status.DELIVERED) == 12)

    assert sorted(r["body"]["email"] for r in sandbox.received()) == sorted(
        b.email for b in bookings
    )
    # Four threads, but never more than DELIVERY_CONCURRENCY calls at the provider at once.
    assert sandbox.max_in_flight == 2


def test_sigterm_lets_the_calls_in_flight_finish_then_exits(make_agency, sandbox, start_process):
    sandbox.set_latency(0.5)
    queue(make_agency(), 8)
    worker = start_process(*WORKER, "--threads", "2")
    wait_until(lambda: count_status(Status.SENDING) == 2)

    worker.send_signal(signal.SIGTERM)

    assert worker.wait(timeout=10) == 0
    assert count_status(Status.DELIVERED) == 2  # the two being sent were finished
    assert count_status(Status.QUEUED) == 6  # the others wait for the next worker
    assert DBTaskResult.objects.filter(status="READY").count() == 6
