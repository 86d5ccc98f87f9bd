"""`manage.py delivery_worker --threads T`: several django-tasks-db workers in one process.

Each thread runs django-tasks-db's own `Worker` loop (the same claim protocol as
`db_worker`, a worker id of its own), so one process can keep several deliveries going:
while some threads wait for a broker system, others do their database work. How many
delivery calls are in flight at once is bounded per process by DELIVERY_CONCURRENCY
(bookings/delivery/engine.py); run more threads than that so the calls never wait for a thread.

SIGTERM / SIGINT (handled here, in the main thread) stops every loop: tasks that are
running finish, then the process exits. A second signal exits at once.
"""

import logging
import signal
import sys
import threading
from argparse import ArgumentTypeError

from django.conf import settings
from django.db import connection
from django.utils.crypto import get_random_string
from django_tasks_db.compat import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME
from django_tasks_db.management.commands import db_worker

logger = logging.getLogger("django_tasks_db")

STOP_SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGQUIT]


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
        process_id = get_random_string(32)
        workers = [
            db_worker.Worker(
                queue_names=queue_name.split(","),
                interval=interval,
                batch=False,
                backend_name=backend_name,
                startup_delay=startup_delay,
                max_tasks=None,
                worker_id=f"{process_id}-{number}",
                excluded_queue_names=[],
            )
            for number in range(threads)
        ]
        failed = threading.Event()

        def stop(signum=None, frame=None):
            if signum is not None and not any(worker.running for worker in workers):
                logger.warning("Received %s again - exiting now.", signal.strsignal(signum))
                sys.exit(1)
            if signum is not None:
                logger.warning("Received %s - finishing running tasks.", signal.strsignal(signum))
            for worker in workers:
                worker.running = False

        def run(worker):
            try:
                worker.run()
            except Exception:
                # A loop that died (e.g. the database went away) would silently shrink the
                # pool: stop them all and exit non-zero so a supervisor restarts us.
                logger.exception("Worker %s failed; stopping.", worker.worker_id)
                failed.set()
                stop()
            finally:
                connection.close()  # this thread's own connection

        for signum in STOP_SIGNALS:
            signal.signal(signum, stop)
        # Daemon threads: a second signal's exit does not wait for running tasks.
        pool = [
            threading.Thread(target=run, args=(w,), name=w.worker_id, daemon=True) for w in workers
        ]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        if failed.is_set():
            sys.exit(1)
