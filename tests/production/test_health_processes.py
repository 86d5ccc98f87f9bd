"""/healthz against real worker and scheduler processes on the test database, and one
scheduler at a time through the Redis lock."""

import signal

import pytest
import redis

from bookings.models import Heartbeat
from tests.conftest import WORKER, wait_until

HEARTBEAT = {"HEARTBEAT_SECONDS": "0.2"}
SCHEDULER = ["crontask", "--no-heartbeat"]


@pytest.fixture
def quick_health(settings):
    settings.HEALTH_STALE_AFTER = 1.5


def failing(client):
    response = client.get("/healthz")
    return response.status_code, response.json()["failing"]


def test_healthz_turns_503_when_the_worker_stops_and_200_when_it_runs_again(
    client, start_process, quick_health
):
    start_process(*SCHEDULER, **HEARTBEAT)
    worker = start_process(*WORKER, **HEARTBEAT)
    wait_until(lambda: failing(client) == (200, []))

    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=10) == 0
    wait_until(lambda: failing(client) == (503, ["worker"]))

    start_process(*WORKER, **HEARTBEAT)
    wait_until(lambda: failing(client) == (200, []))


def test_healthz_names_the_scheduler_when_it_stops(client, start_process, quick_health):
    start_process(*WORKER, **HEARTBEAT)
    scheduler = start_process(*SCHEDULER, **HEARTBEAT)
    wait_until(lambda: failing(client) == (200, []))

    scheduler.send_signal(signal.SIGTERM)
    scheduler.wait(timeout=10)

    wait_until(lambda: failing(client) == (503, ["scheduler"]))


@pytest.fixture
def scheduler_redis():
    """A Redis database of the local server that this test alone uses for the lock."""
    url = "redis://127.0.0.1:6379/15"
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("needs Redis on 127.0.0.1:6379")
    client.delete("crontask-lock")
    yield url
    client.delete("crontask-lock")


def test_with_redis_a_second_scheduler_runs_no_jobs_and_takes_over_when_the_first_stops(
    start_process, scheduler_redis
):
    lock = {
        "REDIS_URL": scheduler_redis,
        "CRONTASK_LOCK_TIMEOUT": "2",
        "CRONTASK_LOCK_REFRESH_INTERVAL": "0.5",
        "CRONTASK_LOCK_BLOCKING_TIMEOUT": "1",
        **HEARTBEAT,
    }
    first = start_process(*SCHEDULER, **lock)
    wait_until(lambda: seen_by_pid() == first.pid)

    # At INFO, so that "Starting scheduler" would be in its output had it started.
    second = start_process(*SCHEDULER, capture=True, LOG_LEVEL="INFO", **lock)

    # It waits for the lock, gives up and exits, never having run a job meanwhile.
    output, _ = second.communicate(timeout=30)
    assert "Another scheduler is already running." in output
    assert "Starting scheduler" not in output
    assert seen_by_pid() == first.pid
    # Stopped, the first releases the lock; a standby (the second, restarted) takes it over.
    first.send_signal(signal.SIGTERM)
    first.wait(timeout=10)
    standby = start_process(*SCHEDULER, **lock)
    wait_until(lambda: seen_by_pid() == standby.pid)


def test_without_redis_there_is_no_lock(start_process):
    """Two schedulers without REDIS_URL both run (docs/guide-operator.md: run exactly one)."""
    environment = {"REDIS_URL": "", **HEARTBEAT}
    schedulers = [start_process(*SCHEDULER, **environment) for _ in range(2)]
    beaters = set()

    def both_beat():
        beaters.add(seen_by_pid())
        return beaters >= {process.pid for process in schedulers}

    wait_until(both_beat)


def seen_by_pid() -> int | None:
    heartbeat = Heartbeat.objects.filter(process=Heartbeat.Process.SCHEDULER).first()
    return heartbeat and int(heartbeat.seen_by.rpartition(":")[2])
