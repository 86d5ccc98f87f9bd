"""The delivery tasks: one booking's delivery (woken through schedule.wake_delivery), and
the periodic sweep and task-row housekeeping (timed in bookings/tasks.py)."""

from django.tasks import task

from bookings.delivery import sending, sweep, task_rows


@task()
def deliver_booking(booking_id: int) -> str | None:
    return sending.deliver(booking_id)


@task()
def dispatch_deliveries() -> dict[str, int]:
    """The dispatcher: wakes the bookings that are due (see sweep.sweep)."""
    return sweep.sweep()


@task()
def close_abandoned_tasks() -> int:
    """Task-backend housekeeping (django-tasks-db only), not delivery."""
    return task_rows.close_abandoned_tasks(delivery_task=deliver_booking)
