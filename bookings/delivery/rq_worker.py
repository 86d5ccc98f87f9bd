"""The Redis task backend's worker: rq's SimpleWorker and django-tasks-rq's job, with fewer
Redis round trips per job.

    manage.py rqworker-pool --num-workers N --worker-class bookings.delivery.rq_worker.Worker \
        --job-class bookings.delivery.rq_worker.Job default

An rq worker runs one job at a time, so every Redis round trip it makes adds to every
booking's time, and each costs the worker as much CPU as a SQL statement. Of about 27 round
trips per job, 13 only repeat what the worker has just said or read (docs/scaling.md):
- django-tasks-rq builds the task result its signals carry twice per job, each time reading
  back the job's status (twice) and its earlier results;
- rq sends its worker heartbeat three times between one job and the next (3 commands each)
  and marks the worker idle twice.
Both are skipped here when nothing can have changed: the signals get the status this worker
set itself, and a heartbeat or state the worker sent moments ago is not sent again. What is
left goes in fewer round trips: a heartbeat's three commands in one, the idle state with it,
and the job's own last heartbeat with the job, which is saved whole once it has run.
"""

import time

from django_tasks.base import TaskResult
from django_tasks_rq import Job as DjangoTasksJob
from django_tasks_rq.backend import RQ_STATUS_TO_RESULT_STATUS
from rq import SimpleWorker
from rq.utils import now
from rq.worker import WorkerStatus


class Job(DjangoTasksJob):
    """django-tasks-rq's job, with the task result built from the job in hand.

    The task_started and task_finished signals carry it (django-tasks logs their id, path and
    status). Built by django-tasks-rq it reads the job's status and results from Redis three
    times, twice per job. The worker holds the status it set when it took the job, and a job
    of ours runs once (delivery schedules its own retries as new jobs); one requeued by hand
    shows the signals this run alone. The backend's get_result() fetches a job with
    django-tasks-rq's class, and so still reads everything.
    """

    @property
    def task_result(self) -> TaskResult:
        task = self.func
        return TaskResult(
            task=task.using(queue_name=self.origin, backend=self.meta["backend_name"]),
            id=self.id,
            status=RQ_STATUS_TO_RESULT_STATUS[self._status],
            enqueued_at=self.enqueued_at,
            started_at=self.started_at,
            last_attempted_at=self.started_at,
            finished_at=self.ended_at,
            args=list(self.args),
            kwargs=self.kwargs,
            backend=self.meta["backend_name"],
            errors=[],
            worker_ids=[self.worker_name] if self.worker_name else [],
        )


class Worker(SimpleWorker):
    """rq's SimpleWorker, sending a heartbeat or state only when it says something new.

    rq renews the worker's key after each job, before waiting for the next and after taking
    it: three heartbeats within a millisecond. One renewal of the same length a moment ago
    keeps the key as long as these would (HEARTBEAT_REPEAT_SECONDS of the 420 s rq allows).
    """

    HEARTBEAT_REPEAT_SECONDS = 5

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._last_renewal = (0.0, 0)  # monotonic time, timeout

    def heartbeat(self, timeout: int | None = None, pipeline=None):
        timeout = timeout or self.worker_ttl + 60
        sent_at, sent_timeout = self._last_renewal
        if pipeline is None:
            if (
                sent_timeout == timeout
                and time.monotonic() - sent_at < self.HEARTBEAT_REPEAT_SECONDS
            ):
                return
            # rq sends its three commands one by one.
            with self.connection.pipeline(transaction=False) as renewal:
                super().heartbeat(timeout, renewal)
                renewal.execute()
        else:
            super().heartbeat(timeout, pipeline)
        self._last_renewal = (time.monotonic(), timeout)

    def set_state(self, state: str, pipeline=None):
        if pipeline is None and state == WorkerStatus.IDLE and self._state == state:
            return
        super().set_state(state, pipeline)

    def execute_job(self, job, queue):
        """SimpleWorker's, marking the worker idle in one round trip with the heartbeat that
        rq's loop sends next (which then is a repeat, and skipped)."""
        execution = self.prepare_execution(job)
        self.perform_job(job, queue, execution)
        with self.connection.pipeline(transaction=False) as pipeline:
            self.set_state(WorkerStatus.IDLE, pipeline)
            self.heartbeat(pipeline=pipeline)
            pipeline.execute()

    def handle_execution_ended(self, job, queue, heartbeat_ttl: int):
        """rq's, without a round trip of its own for the job's last heartbeat (a field rq
        keeps but never reads to judge a job alive): the job is saved whole moments later,
        with its result or its failure, and that heartbeat with it."""
        job.ended_at = job.last_heartbeat = now()

    def unsubscribe(self):
        """rq's, waiting at most a second for the thread that listens for `rq` commands.

        rq unsubscribes, then stops the thread and waits 1 s for it; but redis-py 8's stop()
        itself waits until the thread ends. A thread that read the UNSUBSCRIBE reply before
        being told to stop waits up to 60 s for a subscription that never comes, and the
        stopping worker (burst or SIGTERM) waited with it.
        """
        if self.pubsub_thread:
            self.log.info(
                "Worker %s: unsubscribing from channel %s", self.name, self.pubsub_channel_name
            )
            self.pubsub.unsubscribe()
            self.pubsub_thread._running.clear()  # stop() without its wait
            self.pubsub_thread.join(timeout=1)
            self.pubsub.close()
