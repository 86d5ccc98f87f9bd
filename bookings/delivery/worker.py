"""Several django-tasks-db worker loops as threads of one process (`manage.py delivery_worker`).

Each thread runs django-tasks-db's own `Worker` loop (the same claim protocol as
`db_worker`, a worker id of its own), so one process can keep several deliveries going:
while some threads wait for a provider, others do their database work. How many
delivery calls are in flight at once is bounded per process by DELIVERY_CONCURRENCY
(bookings/providers/base.py); run more threads than that so the calls never wait for a thread.

SIGTERM / SIGINT / SIGQUIT stop every loop: tasks that are running finish, then the
process exits. A second signal exits at once. Until then the main thread records the
worker's heartbeat every HEARTBEAT_SECONDS (/healthz).

The loop is django-tasks-db's, with its bookkeeping prepared (bookings/prepared.py): taking
the next task, marking it running and marking it done are the same statements on the same
rows, compiled once per thread rather than for every task, where compiling them cost more
CPU than the delivery's own statements (docs/scaling.md).
"""

import logging
import random
import signal
import sys
import threading
import time

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import DatabaseError, close_old_connections, connection
from django.db.models import DateTimeField, Q
from django.db.utils import OperationalError
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.compat import TaskContext, TaskResultStatus, task_finished, task_started
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult, get_date_max
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception, retry

from bookings.models import Heartbeat
from bookings.prepared import Param, PreparedSelect, PreparedUpdate

logger = logging.getLogger("django_tasks_db")

STOP_SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGQUIT]

TASK_ID = Param("task_id", DBTaskResult._meta.pk)
# Marking a task running and done, as DBTaskResult.claim and set_successful save them.
MARK_RUNNING = PreparedUpdate(
    lambda: (
        DBTaskResult.objects.filter(pk=TASK_ID),
        {
            "status": TaskResultStatus.RUNNING,
            "started_at": Param("started_at", DateTimeField()),
            "worker_ids": Param("worker_ids", DBTaskResult._meta.get_field("worker_ids")),
        },
    )
)
MARK_SUCCESSFUL = PreparedUpdate(
    lambda: (
        DBTaskResult.objects.filter(pk=TASK_ID),
        {
            "status": TaskResultStatus.SUCCESSFUL,
            "return_value": Param("return_value", DBTaskResult._meta.get_field("return_value")),
            "finished_at": Param("finished_at", DateTimeField()),
            "exception_class_path": "",
            "traceback": "",
        },
    )
)


class Worker(db_worker.Worker):
    """django-tasks-db's worker loop (db_worker.Worker.run and run_task, the same steps in
    the same transactions), its three statements per task prepared."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # The next ready task, locked, as DBTaskResult.objects.ready()...get_locked() takes it.
        self.next_task = PreparedSelect(self.ready_tasks)

    def ready_tasks(self):
        tasks = DBTaskResult.objects.filter(status=TaskResultStatus.READY).filter(
            Q(run_after=get_date_max()) | Q(run_after__lte=Param("now", DateTimeField()))
        )
        tasks = tasks.filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
        return tasks.select_for_update(skip_locked=True)[:1]

    def run(self) -> None:
        logger.info(
            "Starting worker worker_id=%s queues=%s", self.worker_id, ",".join(self.queue_names)
        )
        if self.startup_delay and self.interval:
            time.sleep(random.random())  # spread the threads' first looks
        using = DBTaskResult.objects.all().db
        while self.running:
            close_old_connections()
            with exclusive_transaction(using):
                try:
                    task_result = self.next_task.first(using, now=timezone.now())
                    if task_result is not None:
                        self.claim(task_result, using)
                except OperationalError as error:
                    if not is_locked_database_exception(error):
                        raise
                    task_result = None  # the database is locked: try again
            if task_result is not None:
                self.run_task(task_result)
            elif self.batch:
                return  # nothing left to run
            if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                return
            close_old_connections()
            if self.running and task_result is None:
                time.sleep(self.interval)

    def claim(self, task_result: DBTaskResult, using: str) -> None:
        task_result.status = TaskResultStatus.RUNNING
        task_result.started_at = timezone.now()
        task_result.worker_ids = [*task_result.worker_ids, self.worker_id]
        MARK_RUNNING.run(
            using,
            task_id=task_result.pk,
            started_at=task_result.started_at,
            worker_ids=task_result.worker_ids,
        )

    def run_task(self, db_task_result: DBTaskResult) -> None:
        try:
            self.running_task = True
            task = db_task_result.task  # imported once, not for every use
            task_result = db_task_result.task_result
            backend_type = type(task.get_backend())
            task_started.send(sender=backend_type, task_result=task_result)
            args, kwargs = task_result.args, task_result.kwargs
            if task.takes_context:
                args = [TaskContext(task_result=task_result), *args]
            return_value = task.call(*args, **kwargs)
            set_successful(db_task_result, return_value)
            task_finished.send(sender=backend_type, task_result=db_task_result.task_result)
        except BaseException as error:
            # As django-tasks-db records and reports a failure.
            db_task_result.set_failed(error)
            try:
                sender = type(db_task_result.task.get_backend())
                task_result = db_task_result.task_result
            except (ImportError, SuspiciousOperation):
                logger.exception("Task id=%s failed unexpectedly", db_task_result.id)
            else:
                task_finished.send(sender=sender, task_result=task_result)
        finally:
            self.running_task = False
            self._run_tasks += 1


@retry()
def set_successful(task_result: DBTaskResult, return_value) -> None:
    """DBTaskResult.set_successful, prepared."""
    task_result.status = TaskResultStatus.SUCCESSFUL
    task_result.finished_at = timezone.now()
    task_result.return_value = return_value
    task_result.exception_class_path = ""
    task_result.traceback = ""
    MARK_SUCCESSFUL.run(
        task_id=task_result.pk,
        return_value=return_value,
        finished_at=task_result.finished_at,
    )


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
