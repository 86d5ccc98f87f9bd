"""Delivery throughput: 1,000 bookings through real worker processes to the sandbox.

    .venv/bin/python bench/delivery.py [--backend db|rq] [--bookings 1000] [--latency 0.05]
        [--processes 1] [--threads 8] [--concurrency 4]

Starts everything itself on a throwaway SQLite database (or BENCH_DATABASE_URL, e.g. a
scratch PostgreSQL database that may be wiped): migrate, the sandbox providers with
the given latency per request, and the workers of the task backend:
- db (django-tasks-db, the default): `--processes` `manage.py delivery_worker` processes of
  `--threads` worker threads, each process allowed `--concurrency` delivery calls in flight
  (DELIVERY_CONCURRENCY);
- rq (django-tasks-rq, tasks in Redis): `--processes` `manage.py rqworker-pool` processes
  (django-rq) of `--concurrency` rq SimpleWorkers each. An rq worker runs one job at a time,
  so the pool's size is its calls in flight; SimpleWorker runs the job in the worker itself
  instead of forking a work horse per job. Redis is BENCH_REDIS_URL (a scratch database that
  may be emptied) or else a redis-server of the bench's own on a free port.
The concurrency C is processes x concurrency: at most that many bookings are ever waiting
for the provider at once. After a warm-up booking per worker loop (imports,
connections), the bookings are enqueued in one transaction, through the app's own enqueue
helper; the clock runs from when the workers can first see a task (the commit on the
database backend; the first enqueue on Redis, which does not wait for the commit) until the
last is delivered. Ideal is N·L/C; ratio = ideal / elapsed. cpu_ms_per_booking is the
user+system CPU the worker processes and their children spent on the measured bookings
(read from /proc before and after them) divided by the bookings delivered;
bookings_per_core_s = 1000 / cpu_ms_per_booking, what one core of worker CPU delivers per
second; bookings_per_s = N / elapsed; enqueue_s, how long enqueueing the N tasks took (inside
the elapsed time on Redis). With a redis-server of its own, redis_cpu_ms_per_booking
is that server's CPU likewise, and on a PostgreSQL server on this machine db_cpu_ms_per_booking
the CPU of the server processes serving the bench's database (pg_stat_activity's pids);
sandbox_cpu_ms_per_booking, the sandbox providers' (the broker systems', elsewhere in
production, here on the same cores as the workers).
The arithmetic from these figures to a deployment is in docs/scaling.md.
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path

from support import bench_environment, make_mspecs_viewing, manage, setup_django, start_sandbox

RQ_BACKEND = "django_tasks_rq.RQBackend"
RQ_WORKER = os.environ.get("BENCH_RQ_WORKER", "bookings.delivery.rq_worker.Worker")
RQ_JOB = os.environ.get("BENCH_RQ_JOB", "bookings.delivery.rq_worker.Job")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["db", "rq"], default="db", help="task backend")
    parser.add_argument("--bookings", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--processes", type=int, default=1, help="worker processes")
    parser.add_argument("--threads", type=int, default=8, help="worker threads per db process")
    parser.add_argument(
        "--concurrency", type=int, default=4, help="delivery calls in flight per process"
    )
    return parser.parse_args()


def start_redis(scratch: Path) -> tuple[subprocess.Popen, str]:
    """A throwaway redis-server on a free loopback port, keeping nothing on disk."""
    if not shutil.which("redis-server"):
        sys.exit("--backend rq needs Redis: install redis-server, or set BENCH_REDIS_URL.")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            *("redis-server", "--bind", "127.0.0.1", "--port", str(port)),
            *("--save", "", "--appendonly", "no", "--dir", str(scratch)),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.05)


def start_workers(args, env: dict) -> list[subprocess.Popen]:
    # Each in a session of its own: stopping one stops the processes it forked too.
    if args.backend == "rq":
        command = ["rqworker-pool", "--num-workers", str(args.concurrency)]
        command += ["--worker-class", RQ_WORKER, "--job-class", RQ_JOB]
        command += ["default", "-v", "0"]
    else:
        command = ["delivery_worker", "--threads", str(args.threads)]
        command += ["--interval", "0.05", "--no-startup-delay", "-v", "0"]
    return [manage(*command, env=env, start_new_session=True) for _ in range(args.processes)]


def make_bookings(sandbox_url: str, n: int):
    from bookings.models import Booking

    viewing = make_mspecs_viewing(sandbox_url)
    Booking.objects.bulk_create(
        Booking(
            viewing=viewing,
            first_name="Bench",
            last_name=f"Buyer {i}",
            email=f"buyer{i}@example.se",
            phone="+46701111111",
        )
        for i in range(n)
    )
    return list(Booking.objects.order_by("pk").values_list("pk", flat=True))


def deliver_and_time(booking_ids: list[int], *, visible_at_commit: bool) -> tuple[float, float]:
    """Seconds until every booking is delivered, and seconds the enqueueing took."""
    from django.db import transaction

    from bookings.delivery.tasks import deliver_booking

    with transaction.atomic():
        started = time.monotonic()
        for booking_id in booking_ids:
            deliver_booking.enqueue(booking_id)
    enqueued = time.monotonic() - started
    if visible_at_commit:
        started = time.monotonic()
    wait_delivered(booking_ids, timeout=600)
    return time.monotonic() - started, enqueued


def wait_delivered(booking_ids: list[int], timeout: float) -> None:
    from bookings.models import Booking

    # Cheap to ask (the index on status) so that watching does not slow the workers.
    deadline = time.monotonic() + timeout
    waiting = Booking.objects.filter(pk__gte=min(booking_ids), pk__lte=max(booking_ids)).exclude(
        status=Booking.Status.DELIVERED
    )
    while waiting.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("bookings not delivered in time: " + str(status_counts()))
        time.sleep(0.05)


def cpu_seconds(processes: list[subprocess.Popen]) -> float:
    """User+system CPU the processes, their live descendants and the children they have
    reaped have used so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    pids = [process.pid for process in processes]
    while pids:
        pid = pids.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            children = [path.read_text() for path in Path(f"/proc/{pid}/task").glob("*/children")]
        except FileNotFoundError:
            continue  # it has just exited: its CPU goes to its parent's cutime, cstime
        total += sum(int(field) for field in fields[11:15])  # utime, stime, cutime, cstime
        pids.extend(int(child) for listing in children for child in listing.split())
    return total / ticks


def database_server_cpu() -> float | None:
    """CPU seconds of the PostgreSQL server processes connected to the bench's database, if
    the server runs on this machine (their /proc entries); None on SQLite or elsewhere."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        pids = [pid for (pid,) in cursor.fetchall()]
    if not all(Path(f"/proc/{pid}").exists() for pid in pids):
        return None
    return sum(cpu_seconds([PidOnly(pid)]) for pid in pids)


class PidOnly:
    def __init__(self, pid: int):
        self.pid = pid


def status_counts() -> dict[str, int]:
    from django.db.models import Count

    from bookings.models import Booking

    return dict(Booking.objects.values_list("status").annotate(n=Count("pk")))


def stop_workers(workers: list[subprocess.Popen]) -> None:
    """SIGTERM to each worker's session (the worker and the processes it forked), waiting
    up to 5 s for all of them to finish their running job, then SIGKILL."""
    for worker in workers:
        os.killpg(worker.pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    for worker in workers:
        while True:
            worker.poll()  # reap the worker itself
            try:
                os.killpg(worker.pid, signal.SIGKILL if time.monotonic() > deadline else 0)
            except ProcessLookupError:
                break  # none of them left
            time.sleep(0.05)


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> None:
    args = parse_args()
    if args.backend == "rq" and not find_spec("django_tasks_rq"):
        sys.exit("--backend rq needs the rq extra: make install (pip install -e '.[rq]').")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the processes we started
    processes: list[subprocess.Popen] = []
    workers: list[subprocess.Popen] = []
    redis_started = False
    with tempfile.TemporaryDirectory(prefix="vb-bench-") as scratch:
        overrides = {"DELIVERY_CONCURRENCY": str(args.concurrency)}
        try:
            if args.backend == "rq":
                redis_url = os.environ.get("BENCH_REDIS_URL")
                if not redis_url:
                    redis, redis_url = start_redis(Path(scratch))
                    processes.append(redis)
                    redis_started = True
                overrides |= {"TASKS_BACKEND": RQ_BACKEND, "REDIS_URL": redis_url}
            env = bench_environment(Path(scratch), **overrides)
            setup_django(env)
            if args.backend == "rq":
                import django_rq

                django_rq.get_connection("default").flushdb()  # a reused BENCH_REDIS_URL
            sandbox, sandbox_url = start_sandbox(env, latency=args.latency)
            processes.append(sandbox)
            loops = args.processes * (args.concurrency if args.backend == "rq" else args.threads)
            booking_ids = make_bookings(sandbox_url, loops + args.bookings)
            warm_up, measured = booking_ids[:loops], booking_ids[loops:]
            workers = start_workers(args, env)
            visible_at_commit = args.backend == "db"
            deliver_and_time(warm_up, visible_at_commit=visible_at_commit)
            own_redis = processes[:1] if args.backend == "rq" and redis_started else []
            cpu_before, redis_before = cpu_seconds(workers), cpu_seconds(own_redis)
            sandbox_before = cpu_seconds([sandbox])
            db_before = database_server_cpu()
            elapsed, enqueue_s = deliver_and_time(measured, visible_at_commit=visible_at_commit)
            cpu_spent = cpu_seconds(workers) - cpu_before
            redis_spent = cpu_seconds(own_redis) - redis_before
            sandbox_spent = cpu_seconds([sandbox]) - sandbox_before
            db_after = database_server_cpu()
            counts = status_counts()
        finally:
            stop_workers(workers)  # first: they talk to Redis and the sandbox until they exit
            stop(processes)
    concurrency = args.processes * args.concurrency
    ideal = args.bookings * args.latency / concurrency
    threads = args.threads if args.backend == "db" else 1
    print(
        f"backend={args.backend} bookings={args.bookings} latency_ms={args.latency * 1000:.0f} "
        f"processes={args.processes} threads={threads} concurrency={concurrency} "
        f"delivered={counts.get('delivered', 0) - loops} elapsed_s={elapsed:.2f} "
        f"ideal_s={ideal:.2f} ratio={ideal / elapsed:.2f} enqueue_s={enqueue_s:.2f} "
        f"cpu_ms_per_booking={cpu_spent * 1000 / args.bookings:.2f} "
        f"bookings_per_s={args.bookings / elapsed:.0f} "
        f"bookings_per_core_s={args.bookings / cpu_spent:.0f} "
        f"sandbox_cpu_ms_per_booking={sandbox_spent * 1000 / args.bookings:.2f}"
        + (
            f" redis_cpu_ms_per_booking={redis_spent * 1000 / args.bookings:.2f}"
            if redis_started
            else ""
        )
        + (
            f" db_cpu_ms_per_booking={(db_after - db_before) * 1000 / args.bookings:.2f}"
            if db_before is not None and db_after is not None
            else ""
        )
    )


if __name__ == "__main__":
    main()
