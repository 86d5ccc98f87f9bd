"""`manage.py delivery_worker --threads T`: several django-tasks-db workers in one process
(the loop: bookings/delivery/worker.py)."""

import sys
from argparse import ArgumentTypeError

from django.conf import settings
from django_tasks_db.compat import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME
from django_tasks_db.management.commands import db_worker

from bookings.delivery.worker import run_threads


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ArgumentTypeError("Must be 1 or more")
    return number


class Command(db_worker.Command):
    help = "Run database task workers as threads of one process (see DELIVERY_CONCURRENCY)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--threads",
            type=positive_int,
            default=settings.DELIVERY_WORKER_THREADS,
            help="Worker loops in this process (default: DELIVERY_WORKER_THREADS, %(default)s).",
        )
        parser.add_argument(
            "--queue-name",
            default=DEFAULT_TASK_QUEUE_NAME,
            help="The queues to process, comma-separated; '*' for all (default: %(default)r).",
        )
        parser.add_argument(
            "--interval",
            type=db_worker.valid_interval,
            default=1,
            help="Seconds a thread waits when the queue is empty (default: %(default)r).",
        )
        parser.add_argument(
            "--backend",
            type=db_worker.valid_backend_name,
            default=DEFAULT_TASK_BACKEND_ALIAS,
            dest="backend_name",
            help="The task backend to work for (default: %(default)r).",
        )
        parser.add_argument(
            "--no-startup-delay",
            action="store_false",
            dest="startup_delay",
            help="Start every thread at once instead of spreading them over a second.",
        )

    def handle(self, *, verbosity, threads, queue_name, interval, backend_name, startup_delay, **_):
        self.configure_logging(verbosity)
        worked = run_threads(
            threads=threads,
            queue_names=queue_name.split(","),
            interval=interval,
            backend_name=backend_name,
            startup_delay=startup_delay,
        )
        if not worked:
            sys.exit(1)
