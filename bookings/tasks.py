"""Background tasks, run by `manage.py delivery_worker` through Django's Tasks API; periodic ones
are enqueued by `manage.py crontask`. Call sites enqueue through bookings.delivery.schedule,
whatever the task backend."""

from apscheduler.triggers.interval import IntervalTrigger
from crontask import cron
from django.conf import settings
from django.tasks import task

from bookings import polling
from bookings.buyer.emails import send_buyer_email
from bookings.delivery import engine, task_rows


@task()
def deliver_booking(booking_id: int) -> str | None:
    return engine.deliver(booking_id)


@cron(IntervalTrigger(seconds=settings.DELIVERY_SWEEP_SECONDS))
@task()
def dispatch_deliveries() -> dict[str, int]:
    """The dispatcher: wakes the bookings that are due (see engine.sweep)."""
    return engine.sweep()


@cron(IntervalTrigger(seconds=settings.DELIVERY_SWEEP_SECONDS))
@task()
def close_abandoned_tasks() -> int:
    """Task-backend housekeeping (django-tasks-db only), not delivery."""
    return task_rows.close_abandoned_tasks()


@cron(IntervalTrigger(seconds=settings.SLOT_POLL_TICK))
@task()
def poll_due_slots() -> str:
    """Slot status of every upcoming MSPECS deal that is due a poll (see polling.due_viewings)."""
    return str(polling.poll_slots(polling.due_viewings()))


@task()
def email_buyer(booking_id: int, status: str) -> bool:
    """The buyer's one email when their booking ended in `status` (bookings/buyer/emails.py)."""
    return send_buyer_email(booking_id, status)
