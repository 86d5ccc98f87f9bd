"""Delivery throughput: 1,000 bookings through real worker processes to the sandbox.

    .venv/bin/python bench/delivery.py [--bookings 1000] [--latency 0.05]
        [--processes 1] [--threads 8] [--concurrency 4]

Starts everything itself on a throwaway SQLite database (or BENCH_DATABASE_URL, e.g. a
scratch PostgreSQL database that may be wiped): migrate, the sandbox broker systems with the
given latency per request, and `--processes` `manage.py delivery_worker` processes of
`--threads` worker threads, each process allowed `--concurrency` delivery calls in flight
(DELIVERY_CONCURRENCY). The concurrency C is processes x concurrency: at most that many
bookings are ever waiting for the broker system at once. After a warm-up booking per thread
(imports, connections), the bookings are enqueued in one transaction; the clock runs from
its commit until the last is delivered. Ideal is N·L/C; ratio = ideal / elapsed.
cpu_ms_per_booking is the user+system CPU the worker processes spent on the measured
bookings (read from /proc before and after them) divided by the bookings delivered.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from support import bench_environment, make_mspecs_viewing, manage, setup_django, start_sandbox


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--processes", type=int, default=1, help="delivery_worker processes")
    parser.add_argument("--threads", type=int, default=8, help="worker threads per process")
    parser.add_argument(
        "--concurrency", type=int, default=4, help="delivery calls in flight per process"
    )
    return parser.parse_args()


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


def deliver_and_time(booking_ids: list[int]) -> float:
    from django.db import transaction

    from bookings.tasks import enqueue_delivery

    with transaction.atomic():
        for booking_id in booking_ids:
            enqueue_delivery(booking_id)
    started = time.monotonic()
    wait_delivered(booking_ids, timeout=600)
    return time.monotonic() - started


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
    """User+system CPU the processes have used so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for process in processes:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def status_counts() -> dict[str, int]:
    from django.db.models import Count

    from bookings.models import Booking

    return dict(Booking.objects.values_list("status").annotate(n=Count("pk")))


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the processes we started
    processes: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="vb-bench-") as scratch:
        env = bench_environment(Path(scratch), DELIVERY_CONCURRENCY=str(args.concurrency))
        try:
            setup_django(env)
            sandbox, sandbox_url = start_sandbox(env, latency=args.latency)
            processes.append(sandbox)
            threads = args.processes * args.threads
            booking_ids = make_bookings(sandbox_url, threads + args.bookings)
            warm_up, measured = booking_ids[:threads], booking_ids[threads:]
            workers = [
                manage(
                    *("delivery_worker", "--threads", str(args.threads)),
                    *("--interval", "0.05", "--no-startup-delay", "-v", "0"),
                    env=env,
                )
                for _ in range(args.processes)
            ]
            processes.extend(workers)
            deliver_and_time(warm_up)
            cpu_before = cpu_seconds(workers)
            elapsed = deliver_and_time(measured)
            cpu_spent = cpu_seconds(workers) - cpu_before
            counts = status_counts()
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
    concurrency = args.processes * args.concurrency
    ideal = args.bookings * args.latency / concurrency
    print(
        f"bookings={args.bookings} latency_ms={args.latency * 1000:.0f} "
        f"processes={args.processes} threads={args.threads} concurrency={concurrency} "
        f"delivered={counts.get('delivered', 0) - threads} elapsed_s={elapsed:.2f} "
        f"ideal_s={ideal:.2f} ratio={ideal / elapsed:.2f} "
        f"cpu_ms_per_booking={cpu_spent * 1000 / args.bookings:.2f}"
    )


if __name__ == "__main__":
    main()
