"""Enqueue a task once the current transaction commits (at once outside one): its worker
never looks for a row that is not there yet, nor acts on a change that was rolled back."""

from functools import partial

from django.db import transaction
from django.tasks import Task


def enqueue_after_commit(task: Task, *args) -> None:
    transaction.on_commit(partial(task.enqueue, *args))
