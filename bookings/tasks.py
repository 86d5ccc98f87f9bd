"""Background tasks, run by `manage.py delivery_worker` through Django's Tasks API; periodic ones
are enqueued by `manage.py crontask`."""

from apscheduler.triggers.interval import IntervalTrigger
from crontask import cron
from django.conf import settings
from django.tasks import task

from bookings import polling
from bookings.delivery import engine


@task()
def deliver_booking(booking_id: int) -> str:
    return engine.deliver(booking_id)


def enqueue_delivery(booking_id: int, run_after=None) -> None:
    if run_after is None:
        deliver_booking.enqueue(booking_id)
    else:
        deliver_booking.using(run_after=run_after).enqueue(booking_id)


@cron(IntervalTrigger(seconds=settings.DELIVERY_SWEEP_SECONDS))
@task()
def sweep_deliveries() -> dict[str, int]:
    return engine.sweep()


@cron(IntervalTrigger(seconds=settings.SLOT_POLL_TICK))
@task()
def poll_due_slots() -> str:
    """Slot status of every upcoming MSPECS deal that is due a poll (see polling.due_viewings)."""
    return str(polling.poll_slots(polling.due_viewings()))
