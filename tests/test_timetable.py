"""The cron timetable (bookings/tasks.py), loaded as `manage.py crontask` loads it."""

import io

from crontask import scheduler
from crontask.management.commands.crontask import Command
from django.utils.module_loading import import_string

from agencies.tasks import send_alert_digests
from bookings.buyer.emails import email_buyer
from bookings.delivery.tasks import close_abandoned_tasks, deliver_booking, dispatch_deliveries
from bookings.polling import poll_due_slots
from bookings.privacy.tasks import apply_retention
from bookings.viewing_import.tasks import catch_up_source_events, sync_imported_viewings
from bookings.viewing_import.webhooks import process_webhook_event

PERIODIC = [
    dispatch_deliveries,
    close_abandoned_tasks,
    poll_due_slots,
    send_alert_digests,
    sync_imported_viewings,
    catch_up_source_events,
    apply_retention,
]


def test_crontask_schedules_every_periodic_task_and_the_heartbeat():
    Command(stdout=io.StringIO()).load_tasks({})

    scheduled = [job.name for job in scheduler.get_jobs()]

    assert {task.name for task in PERIODIC} | {"scheduler heartbeat"} <= set(scheduled)


def test_retention_runs_nightly_at_the_retention_schedule():
    Command(stdout=io.StringIO()).load_tasks({})

    trigger = {job.name: job.trigger for job in scheduler.get_jobs()}[apply_retention.name]

    assert (str(trigger.fields[5]), str(trigger.fields[6])) == ("3", "30")  # hour, minute


def test_task_rows_queued_under_the_old_paths_still_find_their_tasks():
    # The task backend imports a row's task by its stored path.
    for task in [*PERIODIC, deliver_booking, email_buyer, process_webhook_event]:
        assert import_string(f"bookings.tasks.{task.name}") is task
        assert import_string(task.module_path) is task
