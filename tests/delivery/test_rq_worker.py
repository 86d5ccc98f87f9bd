"""The Redis task backend's worker and job (bookings/delivery/rq_worker.py): `manage.py
rqworker` with them delivers as django-tasks-rq's own classes would, its results and task
signals unchanged, on fewer Redis commands and round trips per job; the worker leaves out
only a heartbeat or state it has just sent, and stops within a second. Against the Redis at
127.0.0.1:6379, database 14, emptied before each test; skipped without it."""

import re
import signal
import threading
import types

import pytest
import redis
from django.tasks import TaskResultStatus, task_backends
from django_tasks_rq import Job as DjangoTasksJob
from rq import Queue, SimpleWorker, get_current_job
from rq.worker import WorkerStatus

from bookings.delivery import rq_worker
from bookings.delivery.tasks import deliver_booking
from bookings.models import Booking, Outcome
from tests.conftest import count_status, wait_until
from tests.factories import make_booking, queue

Status = Booking.Status

REDIS_URL = "redis://127.0.0.1:6379/14"
ON_REDIS = {"TASKS_BACKEND": "django_tasks_rq.RQBackend", "REDIS_URL": REDIS_URL}
WORKER_NAME = "rq-test-worker"
# The worker as docs/settings.md gives it, in burst mode: it works the jobs queued, then exits.
RQWORKER = [
    *("rqworker", "--burst", "--name", WORKER_NAME, "-v", "0"),
    *("--worker-class", "bookings.delivery.rq_worker.Worker"),
    *("--job-class", "bookings.delivery.rq_worker.Job", "default"),
]


@pytest.fixture(autouse=True)
def redis_db():
    """Database 14 of the local Redis, empty."""
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.flushdb()
    except redis.ConnectionError:
        pytest.skip("needs Redis at 127.0.0.1:6379 (database 14)")
    yield connection
    connection.close()


@pytest.fixture
def on_redis(settings, redis_db):
    """This process enqueues on the Redis backend too, as the worker processes read it."""
    settings.TASKS = {"default": {"BACKEND": ON_REDIS["TASKS_BACKEND"], "QUEUES": ["default"]}}
    settings.RQ_QUEUES = {"default": {"URL": REDIS_URL}}


def task_states(output: str, task_id: str) -> list[str]:
    """The states Django's task signals logged for the task (django-tasks' lines), in order."""
    return re.findall(rf"Task id={task_id} path=\S+ state=(\w+)", output)


def work_in_process(worker) -> None:
    """The worker works the queue empty in this process, then stops; pytest keeps its own
    signal handlers. Without the thread that listens for `rq` commands (its SUBSCRIBE and
    UNSUBSCRIBE aside, no Redis command): rq.SimpleWorker can take 60 s to stop it."""
    worker.subscribe = lambda: None
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        worker.work(burst=True, logging_level="WARNING")
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)


def commands_run(connection) -> int:
    """Commands the Redis server has run so far, every client's (INFO commandstats). Read
    before and after rather than zeroed with CONFIG RESETSTAT, which would zero them for
    every other user of this Redis too."""
    return sum(command["calls"] for command in connection.info("commandstats").values())


def worker_key_ttl() -> int:
    """A job: the seconds its worker's key has left to live (-1: no expiry, -2: gone)."""
    job = get_current_job()
    return job.connection.ttl(rq_worker.Worker.redis_worker_namespace_prefix + job.worker_name)


# --- the worker process, as deployed ----------------------------------------------------


def test_a_booking_enqueued_on_redis_is_delivered_once_by_rqworker(
    make_agency, sandbox, start_process, on_redis
):
    [booking] = queue(make_agency(), 1)

    worker = start_process(*RQWORKER, **ON_REDIS)

    assert worker.wait(timeout=60) == 0
    assert [call["body"]["email"] for call in sandbox.received()] == [booking.email]
    assert count_status(Status.DELIVERED) == 1


def test_the_backend_reads_the_whole_result_of_a_task_our_worker_ran(
    make_agency, sandbox, start_process, on_redis
):
    task = deliver_booking.enqueue(make_booking(make_agency()).pk)

    assert start_process(*RQWORKER, **ON_REDIS).wait(timeout=60) == 0

    result = task_backends["default"].get_result(task.id)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.worker_ids == [WORKER_NAME]
    assert result.return_value == Outcome.DELIVERED
    assert result.finished_at is not None
    assert result.errors == []


def test_the_task_signals_carry_running_then_successful(
    make_agency, sandbox, start_process, on_redis
):
    task = deliver_booking.enqueue(make_booking(make_agency()).pk)

    worker = start_process(*RQWORKER, capture=True, LOG_LEVEL="INFO", **ON_REDIS)
    output, _ = worker.communicate(timeout=60)

    assert task_states(output, task.id) == ["RUNNING", "SUCCESSFUL"], output


def test_the_task_signals_of_a_task_that_raises_carry_failed(start_process, on_redis):
    # A booking id that does not exist is no error (the claim finds nothing due); one that
    # is not a number makes the claim's query raise.
    task = deliver_booking.enqueue("not-a-booking-id")

    worker = start_process(*RQWORKER, capture=True, LOG_LEVEL="INFO", **ON_REDIS)
    output, _ = worker.communicate(timeout=60)

    assert task_states(output, task.id) == ["RUNNING", "FAILED"], output


# --- Redis commands per job ---------------------------------------------------------------


def commands_per_job(worker_class, job_class, redis_db, jobs=10) -> float:
    for n in range(jobs):
        deliver_booking.enqueue(1_000_000 + n)  # no such booking: the task does nothing
    tasks = Queue("default", connection=redis_db, job_class=job_class)
    worker = worker_class([tasks], connection=redis_db, job_class=job_class)
    before = commands_run(redis_db)
    work_in_process(worker)
    return (commands_run(redis_db) - before) / jobs


def test_our_worker_and_job_send_at_least_ten_fewer_redis_commands_per_job(db, on_redis, redis_db):
    rq_own = commands_per_job(SimpleWorker, DjangoTasksJob, redis_db)
    ours = commands_per_job(rq_worker.Worker, rq_worker.Job, redis_db)

    # Measured: 67.2 and 53.6 a job over ten, the worker's start and stop included (63 and 50
    # a job without).
    assert ours <= rq_own - 10, (rq_own, ours)


@pytest.fixture
def round_trips(monkeypatch) -> list:
    """Each request this process sends Redis (a command, or a pipeline's commands at once)."""
    sent = []
    send = redis.connection.AbstractConnection.send_packed_command

    def counted(connection, command, check_health=True):
        sent.append(command)
        return send(connection, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)
    return sent


def round_trips_per_job(worker_class, job_class, redis_db, round_trips) -> float:
    """Over ten jobs and twenty, so that the worker's start and stop cancel out."""
    counts = []
    for jobs in (10, 20):
        for n in range(jobs):
            deliver_booking.enqueue(1_000_000 + n)  # no such booking: the task does nothing
        tasks = Queue("default", connection=redis_db, job_class=job_class)
        worker = worker_class([tasks], connection=redis_db, job_class=job_class)
        round_trips.clear()
        work_in_process(worker)
        counts.append(len(round_trips))
    return (counts[1] - counts[0]) / 10


def test_our_worker_and_job_make_five_fewer_redis_round_trips_per_job(
    db, on_redis, redis_db, round_trips
):
    rq_own = round_trips_per_job(SimpleWorker, DjangoTasksJob, redis_db, round_trips)
    ours = round_trips_per_job(rq_worker.Worker, rq_worker.Job, redis_db, round_trips)

    # Measured: 25.8 and 9.
    assert ours <= rq_own - 5, (rq_own, ours)
    assert ours <= 9, ours


def test_a_job_saved_after_it_ran_carries_its_last_heartbeat(db, on_redis, redis_db):
    task = deliver_booking.enqueue(1_000_000)  # no such booking: the task does nothing
    tasks = Queue("default", connection=redis_db, job_class=rq_worker.Job)

    work_in_process(rq_worker.Worker([tasks], connection=redis_db, job_class=rq_worker.Job))

    job = rq_worker.Job.fetch(task.id, connection=redis_db)
    assert job.get_status() == "finished"
    assert job.last_heartbeat >= job.ended_at


# --- the worker's heartbeat and state, in this process ------------------------------------


@pytest.fixture
def worker(redis_db):
    worker = rq_worker.Worker([Queue("default", connection=redis_db)], connection=redis_db)
    worker.register_birth()
    return worker


@pytest.fixture
def clock(monkeypatch):
    """The monotonic clock rq_worker reads, set by the test."""
    clock = types.SimpleNamespace(now=1000.0)
    monkeypatch.setattr(rq_worker, "time", types.SimpleNamespace(monotonic=lambda: clock.now))
    return clock


def sent(worker, field: str, action) -> bool:
    """Whether `action` wrote the worker key's `field` to Redis."""
    worker.connection.hset(worker.key, field, "before")
    action()
    return worker.connection.hget(worker.key, field) != b"before"


def test_an_identical_heartbeat_within_the_window_is_not_sent(worker, clock):
    worker.heartbeat()
    clock.now += worker.HEARTBEAT_REPEAT_SECONDS - 0.01

    assert not sent(worker, "last_heartbeat", worker.heartbeat)


def test_an_identical_heartbeat_once_the_window_has_passed_is_sent(worker, clock):
    worker.heartbeat()
    clock.now += worker.HEARTBEAT_REPEAT_SECONDS

    assert sent(worker, "last_heartbeat", worker.heartbeat)


def test_a_heartbeat_with_another_timeout_is_sent(worker, clock):
    worker.heartbeat()

    assert sent(worker, "last_heartbeat", lambda: worker.heartbeat(90))
    assert 0 < worker.connection.ttl(worker.key) <= 90


def test_a_heartbeat_on_its_own_is_one_round_trip(worker, clock, round_trips):
    worker.heartbeat()

    assert len(round_trips) == 1
    assert 0 < worker.connection.ttl(worker.key) <= worker.worker_ttl + 60


def test_after_a_job_the_worker_is_idle_on_a_renewed_key(redis_db):
    tasks = Queue("default", connection=redis_db)
    tasks.enqueue(worker_key_ttl)
    worker = rq_worker.Worker([tasks], connection=redis_db)
    states = []
    execute_job = worker.execute_job

    def execute_and_look(job, queue):
        execute_job(job, queue)
        states.append((redis_db.hget(worker.key, "state"), redis_db.ttl(worker.key)))

    worker.execute_job = execute_and_look
    work_in_process(worker)

    [(state, ttl)] = states
    assert state == b"idle"
    assert ttl > worker.worker_ttl


def test_a_heartbeat_through_a_pipeline_is_always_sent(worker, clock):
    worker.heartbeat()

    def through_a_pipeline():
        with worker.connection.pipeline() as pipeline:
            worker.heartbeat(pipeline=pipeline)
            pipeline.execute()

    assert sent(worker, "last_heartbeat", through_a_pipeline)


def test_the_worker_key_keeps_an_expiry_through_jobs_and_outlives_each_wait(redis_db):
    waits = []

    class WatchedQueue(Queue):
        @classmethod
        def dequeue_any(cls, queues, timeout, connection, **kwargs):
            waits.append(connection.ttl(worker.key))
            return super().dequeue_any(queues, timeout, connection=connection, **kwargs)

    jobs = WatchedQueue("default", connection=redis_db)
    enqueued = [jobs.enqueue(worker_key_ttl) for _ in range(2)]
    worker = rq_worker.Worker([jobs], connection=redis_db, queue_class=WatchedQueue)

    work_in_process(worker)

    assert [job.return_value() > 0 for job in enqueued] == [True, True]
    # Before each job and after the last: longer than the worker ever waits for the next.
    assert len(waits) == 3
    assert min(waits) > worker.dequeue_timeout, waits


def test_a_repeated_idle_state_is_not_sent(worker):
    worker.set_state(WorkerStatus.IDLE)

    assert not sent(worker, "state", lambda: worker.set_state(WorkerStatus.IDLE))


def test_idle_after_busy_is_sent(worker):
    worker.set_state(WorkerStatus.IDLE)
    worker.set_state(WorkerStatus.BUSY)

    assert sent(worker, "state", lambda: worker.set_state(WorkerStatus.IDLE))
    assert worker.connection.hget(worker.key, "state") == b"idle"


def test_the_worker_stops_within_a_second_when_its_listener_read_the_unsubscribe_reply(worker):
    worker.subscribe()  # the thread listening for `rq` commands (shutdown, stop a job)
    unsubscribe = worker.pubsub.unsubscribe

    def unsubscribe_and_let_the_listener_read_the_reply():
        unsubscribe()
        wait_until(lambda: not worker.pubsub.subscribed, timeout=5)

    worker.pubsub.unsubscribe = unsubscribe_and_let_the_listener_read_the_reply
    stopping = threading.Thread(target=worker.unsubscribe, daemon=True)
    stopping.start()
    stopping.join(timeout=3)

    assert not stopping.is_alive()  # rq's own waited 60 s for the listener to end
