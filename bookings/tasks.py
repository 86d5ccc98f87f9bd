"""Background tasks, run by `manage.py delivery_worker` through Django's Tasks API; periodic ones
are enqueued by `manage.py crontask`. Call sites enqueue through bookings.delivery.schedule,
whatever the task backend."""

from apscheduler.triggers.interval import IntervalTrigger
from crontask import cron
from django.conf import settings
from django.tasks import task

from bookings import polling
from bookings.delivery import engine, task_rows
from bookings.privacy import retention


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


@cron(settings.RETENTION_SCHEDULE)
@task()
def apply_retention() -> str:
    """Nightly: anonymise and prune what is past its retention (bookings/privacy/retention.py)."""
    report = retention.apply_retention()
    return f"{report.total('bookings_anonymised')} bookings anonymised in {report.batches} batches"
