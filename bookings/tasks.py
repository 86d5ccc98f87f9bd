"""The cron timetable: when `manage.py crontask` enqueues each periodic task, and the
scheduler's own heartbeat. crontask loads this module as the `bookings` app's `tasks`; no
other module imports it. The tasks live beside their code and run on the worker
(`manage.py delivery_worker`) through Django's Tasks API."""

from datetime import UTC, datetime

from apscheduler.triggers.interval import IntervalTrigger
from crontask import cron, scheduler
from django.conf import settings

from agencies.tasks import send_alert_digests
from bookings.buyer.emails import email_buyer
from bookings.delivery.tasks import close_abandoned_tasks, deliver_booking, dispatch_deliveries
from bookings.models import Heartbeat
from bookings.polling import poll_due_slots
from bookings.privacy.tasks import apply_retention
from bookings.viewing_import.tasks import catch_up_source_events, sync_imported_viewings
from bookings.viewing_import.webhooks import process_webhook_event

# Task rows queued before the tasks moved beside their code name them bookings.tasks.<name>,
# and the task backend imports a row's task by that path: these names keep such rows runnable.
__all__ = [
    "apply_retention",
    "catch_up_source_events",
    "close_abandoned_tasks",
    "deliver_booking",
    "dispatch_deliveries",
    "email_buyer",
    "poll_due_slots",
    "process_webhook_event",
    "send_alert_digests",
    "sync_imported_viewings",
]

cron(IntervalTrigger(seconds=settings.DELIVERY_SWEEP_SECONDS))(dispatch_deliveries)
cron(IntervalTrigger(seconds=settings.DELIVERY_SWEEP_SECONDS))(close_abandoned_tasks)
cron(IntervalTrigger(seconds=settings.SLOT_POLL_TICK))(poll_due_slots)
cron(IntervalTrigger(seconds=60))(send_alert_digests)
cron(IntervalTrigger(seconds=settings.VIEWING_SYNC_INTERVAL))(sync_imported_viewings)
cron(settings.SOURCE_CATCH_UP_SCHEDULE)(catch_up_source_events)
cron(settings.RETENTION_SCHEDULE)(apply_retention)

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
