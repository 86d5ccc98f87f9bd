"""Several django-tasks-db worker loops as threads of one process (`manage.py delivery_worker`).

Each thread runs django-tasks-db's own `Worker` loop (the same claim protocol as
`db_worker`, a worker id of its own), so one process can keep several deliveries going:
while some threads wait for a provider, others do their database work. How many
delivery calls are in flight at once is bounded per process by DELIVERY_CONCURRENCY
(bookings/providers/base.py); run more threads than that so the calls never wait for a thread.

SIGTERM / SIGINT / SIGQUIT stop every loop: tasks that are running finish, then the
process exits. A second signal exits at once. Until then the main thread records the
worker's heartbeat every HEARTBEAT_SECONDS (/healthz).
"""

import logging
import signal
import sys
import threading

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from bookings.models import Heartbeat

logger = logging.getLogger("django_tasks_db")

STOP_SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGQUIT]


def run_threads(
    *, threads: int, queue_names: list[str], interval: float, backend_name: str, startup_delay: bool
) -> bool:
    """Run `threads` worker loops until a stop signal; must be called from the main
    thread (signal handlers). Returns False when a loop died, so the process can exit
    non-zero and a supervisor restart it."""
    process_id = get_random_string(32)
    workers = [
        Worker(
            queue_names=queue_names,
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
    stopping = threading.Event()

    def stop(signum=None, frame=None):
        if signum is not None and not any(worker.running for worker in workers):
            logger.warning("Received %s again - exiting now.", signal.strsignal(signum))
            sys.exit(1)
        if signum is not None:
            logger.warning("Received %s - finishing running tasks.", signal.strsignal(signum))
        stopping.set()
        for worker in workers:
            worker.running = False

    def run(worker):
        try:
            worker.run()
        except Exception:
            # A loop that died (e.g. the database went away) would silently shrink the
            # pool: stop them all.
            logger.exception("Worker %s failed; stopping.", worker.worker_id)
            failed.set()
            stop()
        finally:
            connection.close()  # this thread's own connection

    for signum in STOP_SIGNALS:
        signal.signal(signum, stop)
    # Daemon threads: a second signal's exit does not wait for running tasks.
    pool = [threading.Thread(target=run, args=(w,), name=w.worker_id, daemon=True) for w in workers]
    for thread in pool:
        thread.start()
    beat_until(stopping)
    for thread in pool:
        thread.join()
    connection.close()
    return not failed.is_set()


def beat_until(stopping: threading.Event) -> None:
    """Record the worker's heartbeat now and every HEARTBEAT_SECONDS until told to stop. A
    database that is away for a moment is the loops' business, not a reason to stop."""
    while True:
        try:
            Heartbeat.beat(Heartbeat.Process.WORKER)
        except DatabaseError:
            logger.warning("Could not record the worker's heartbeat", exc_info=True)
        if stopping.wait(settings.HEARTBEAT_SECONDS):
            return
