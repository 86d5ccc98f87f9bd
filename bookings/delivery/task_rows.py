"""Housekeeping of the django-tasks-db backend's own table, not part of the delivery
schedule (which is the booking row, bookings/delivery/schedule.py): a worker killed while
running a task leaves its row RUNNING for ever. Does nothing under another task backend,
which keeps (or loses) its own records."""

from datetime import timedelta

from django.db.models import Q
from django.tasks import Task, TaskResultStatus, task_backends
from django.utils import timezone

from bookings.delivery.sending import claim_seconds

# How long any task but a delivery may run before it is taken for abandoned: far beyond a
# sweep or a poll of every deal, both bounded by the provider timeouts.
RUNNING_TASK_LIMIT = timedelta(hours=1)


class WorkerStopped(Exception):
    """Recorded on a task row whose worker stopped while running it."""


def uses_database_backend() -> bool:
    from django_tasks_db import DatabaseBackend

    return isinstance(task_backends["default"], DatabaseBackend)


def close_abandoned_tasks(delivery_task: Task) -> int:
    """Mark FAILED the task rows a killed worker left RUNNING, which nothing else would
    ever finish: a delivery task running past its booking's claim (the sweep has taken the
    booking over by then), any other task after RUNNING_TASK_LIMIT. Should the worker
    still be alive after all, its own result overwrites this one."""
    if not uses_database_backend():
        return 0
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    claim_ended = now - timedelta(seconds=claim_seconds())
    return (
        DBTaskResult.objects.running()
        .filter(
            Q(task_path=delivery_task.module_path, started_at__lt=claim_ended)
            | Q(started_at__lt=now - RUNNING_TASK_LIMIT)
        )
        .update(
            status=TaskResultStatus.FAILED,
            finished_at=now,
            exception_class_path=f"{WorkerStopped.__module__}.{WorkerStopped.__qualname__}",
            traceback="The worker stopped while running this task; closed by the sweep.",
            return_value=None,
        )
    )


def finished_task_results(finished_before):
    """The task rows that finished before then, for retention (bookings/privacy/) to delete
    in batches: django-tasks-db's own queryset; None under another backend, which keeps or
    expires its results itself."""
    if not uses_database_backend():
        return None
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.finished().filter(finished_at__lt=finished_before)
