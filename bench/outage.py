"""A provider outage: 1,000 bookings for one credential while the broker answers 500.

    .venv/bin/python bench/outage.py [--bookings 1000] [--outage 60] [--latency 0.2]
        [--threads 8] [--concurrency 4] [--probe-seconds 1] [--probe-max-seconds 8]

Starts everything itself, as bench/delivery.py does (a throwaway SQLite database or
BENCH_DATABASE_URL, the sandbox providers answering in `--latency` seconds, one
`manage.py delivery_worker` process and `manage.py crontask`). After a warm-up booking per
worker thread, the sandbox is told (control API: POST /_sandbox/faults) to answer every
call 500, the bookings are enqueued in one transaction, and after `--outage` seconds the
fault is cleared. The circuit breaker's waits are set so that the run fits in minutes
(CIRCUIT_BREAKER_PROBE_SECONDS doubling up to CIRCUIT_BREAKER_PROBE_MAX_SECONDS).

Prints how many calls the provider received during the outage (`calls_during_outage`:
the failures that opened the circuit, the calls under way then, and the probes), the time
from recovery until every booking was delivered (`recovered_s`, which includes waiting for
the next probe), the ideal N·L/C for delivering them, and ratio = ideal / recovered_s.
Before the outage the same number of bookings is delivered without one (`baseline_s`,
`baseline_ratio`): on a busy machine, ratio_to_baseline = baseline_s / recovered_s tells the
recovery's own cost from the machine's.
"""

import argparse
import json
import signal
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from delivery import make_bookings, status_counts, stop, stop_workers, wait_delivered
from support import bench_environment, manage, setup_django, start_sandbox


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=1000)
    parser.add_argument("--outage", type=float, default=60, help="seconds of 500s")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per request")
    parser.add_argument("--threads", type=int, default=8, help="worker threads")
    parser.add_argument("--concurrency", type=int, default=4, help="delivery calls in flight")
    parser.add_argument("--probe-seconds", type=float, default=1, help="first probe wait")
    parser.add_argument("--probe-max-seconds", type=float, default=8, help="longest probe wait")
    return parser.parse_args()


def sandbox_control(url: str, command: str, body: dict | None = None) -> dict:
    """The sandbox's control API over HTTP (bookings/sandbox/http.py): GET without a body."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{url}/_sandbox/{command}", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def requests_served(url: str) -> int:
    return sandbox_control(url, "state")["requests_served"]


def enqueue(booking_ids: list[int]) -> None:
    from django.db import transaction

    from bookings.delivery.tasks import deliver_booking

    with transaction.atomic():
        for booking_id in booking_ids:
            deliver_booking.enqueue(booking_id)


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the processes we started
    processes, workers = [], []
    with tempfile.TemporaryDirectory(prefix="vb-bench-") as scratch:
        env = bench_environment(
            Path(scratch),
            DELIVERY_CONCURRENCY=str(args.concurrency),
            # A booking is held by the circuit long before these run out.
            DELIVERY_RETRY_SCHEDULE="1,2,4,8,16,32,64",
            CIRCUIT_BREAKER_THRESHOLD="5",
            CIRCUIT_BREAKER_PROBE_SECONDS=str(args.probe_seconds),
            CIRCUIT_BREAKER_PROBE_MAX_SECONDS=str(args.probe_max_seconds),
            # The sweep sends the probes; its grace is long, so that it does not wake again,
            # as lost, the bookings the recovery queued and the workers have not reached yet.
            DELIVERY_SWEEP_SECONDS="0.5",
            DELIVERY_SWEEP_GRACE="300",
        )
        try:
            setup_django(env)
            sandbox, url = start_sandbox(env, latency=args.latency)
            processes.append(sandbox)
            booking_ids = make_bookings(url, args.threads + 2 * args.bookings)
            warm_up = booking_ids[: args.threads]
            baseline = booking_ids[args.threads : args.threads + args.bookings]
            measured = booking_ids[args.threads + args.bookings :]
            worker = ["delivery_worker", "--threads", str(args.threads), "--interval", "0.05"]
            # In a session of its own, as stop_workers expects.
            workers = [
                manage(*worker, "--no-startup-delay", "-v", "0", env=env, start_new_session=True)
            ]
            processes.append(manage("crontask", "--no-heartbeat", env=env))
            enqueue(warm_up)
            wait_delivered(warm_up, timeout=120)
            # The same bookings without an outage, on the machine as busy as it is now.
            started = time.monotonic()
            enqueue(baseline)
            wait_delivered(baseline, timeout=600)
            baseline_s = time.monotonic() - started

            sandbox_control(url, "faults", {"status": 500})  # until cleared
            served_before = requests_served(url)
            enqueue(measured)
            time.sleep(args.outage)
            calls_during_outage = requests_served(url) - served_before
            sandbox_control(url, "faults", {})
            recovered_at = time.monotonic()
            wait_delivered(measured, timeout=600)
            recovered_s = time.monotonic() - recovered_at
            counts = status_counts()
        finally:
            stop_workers(workers)
            stop(processes)
    ideal = args.bookings * args.latency / args.concurrency
    print(
        f"bookings={args.bookings} outage_s={args.outage:.0f} latency_ms={args.latency * 1000:.0f} "
        f"concurrency={args.concurrency} probe_max_s={args.probe_max_seconds:g} "
        f"calls_during_outage={calls_during_outage} "
        f"calls_per_minute={calls_during_outage * 60 / args.outage:.1f} "
        f"delivered={counts.get('delivered', 0) - args.threads - args.bookings} "
        f"baseline_s={baseline_s:.2f} baseline_ratio={ideal / baseline_s:.2f} "
        f"recovered_s={recovered_s:.2f} ideal_s={ideal:.2f} ratio={ideal / recovered_s:.2f} "
        f"ratio_to_baseline={baseline_s / recovered_s:.2f}"
    )


if __name__ == "__main__":
    main()
