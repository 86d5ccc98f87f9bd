"""Background tasks, run by `manage.py delivery_worker` through Django's Tasks API; periodic ones
are enqueued by `manage.py crontask`. Call sites enqueue through bookings.delivery.schedule,
whatever the task backend."""

from datetime import UTC, datetime

from apscheduler.triggers.interval import IntervalTrigger
from crontask import cron, scheduler
from django.conf import settings
from django.tasks import task

from agencies import alerts
from bookings import polling
from bookings.buyer.emails import send_buyer_email
from bookings.delivery import engine, task_rows
from bookings.models import Heartbeat
from bookings.privacy import retention
from bookings.viewing_import import nightly, sync, webhooks


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


# Not a task: the scheduler itself records that it is alive (and, with REDIS_URL, holds the
# lock: its jobs run only then), from the start and every HEARTBEAT_SECONDS (/healthz).
# crontask's own heartbeat (`--no-heartbeat` turns it off) only logs a line from the worker.
scheduler.add_job(
    Heartbeat.beat,
    IntervalTrigger(seconds=settings.HEARTBEAT_SECONDS),
    args=[Heartbeat.Process.SCHEDULER],
    name="scheduler heartbeat",
    next_run_time=datetime.now(UTC),
    # However long the lock took: beat at once when the scheduler starts, not "missed".
    misfire_grace_time=None,
    coalesce=True,
)


@cron(IntervalTrigger(seconds=60))
@task()
def send_alert_digests() -> int:
    """Email alerts to agency administrators, at most one per agency and kind per
    ALERT_DIGEST_MINUTES (see agencies/alerts.py)."""
    return alerts.send_due_digests()


@cron(IntervalTrigger(seconds=settings.VIEWING_SYNC_INTERVAL))
@task()
def sync_imported_viewings() -> str:
    """Re-read the deals and estates behind upcoming imported viewings, of the broker
    systems that allow scheduled reads; where the broker system lists what changed (Vitec),
    only those changed (see bookings/viewing_import/sync.py)."""
    return str(sync.sync_changed(sync.sources_of(sync.scheduled_viewings())))


@cron(settings.SOURCE_CATCH_UP_SCHEDULE)
@task()
def catch_up_source_events() -> str:
    """Nightly: the events a broker system's webhook may have missed, from its list of
    sources (see bookings/viewing_import/nightly.py)."""
    return str(nightly.catch_up())


@task()
def process_webhook_event(event_pk: int) -> str:
    """Act on a stored MSPECS webhook event (see bookings/viewing_import/webhooks.py)."""
    return webhooks.process_event(event_pk)


@task()
def email_buyer(booking_id: int, status: str) -> bool:
    """The buyer's one email when their booking ended in `status` (bookings/buyer/emails.py)."""
    return send_buyer_email(booking_id, status)


@cron(settings.RETENTION_SCHEDULE)
@task()
def apply_retention() -> str:
    """Nightly: anonymise and prune what is past its retention (bookings/privacy/retention.py)."""
    report = retention.apply_retention()
    return f"{report.total('bookings_anonymised')} bookings anonymised in {report.batches} batches"
