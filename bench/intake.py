"""Requests per second of the JSON intake through gunicorn on loopback, with the sandbox
provider up and then down, in one run: intake never waits on a provider, so the
two should match (ratio >= 0.95).

    .venv/bin/python bench/intake.py [--seconds 20] [--rounds 5] [--concurrency 8]
                                     [--web-workers 2]

Starts everything itself (a throwaway SQLite database, or BENCH_DATABASE_URL such as a
scratch PostgreSQL database that may be wiped; the sandbox, a delivery worker, the
scheduler, gunicorn) and stops it all; ends with one key=value line.
"""

import argparse
import tempfile
from contextlib import ExitStack
from pathlib import Path

from support import (
    INTAKE_SERVER,
    Phase,
    bench_environment,
    load,
    make_mspecs_viewing,
    manage,
    setup_django,
    start,
    start_gunicorn,
    start_sandbox_until_done,
    stop,
)

TARGET_RATIO = 0.95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per state, in total")
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="alternate up and down this many times, so drift and noise from other "
        "processes on the machine fall on both states alike",
    )
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--web-workers", type=int, default=2)
    args = parser.parse_args()
    seconds = args.seconds / args.rounds
    up, down = Phase(), Phase()

    with tempfile.TemporaryDirectory(prefix="vb-bench-") as tmp, ExitStack() as stack:
        env = bench_environment(Path(tmp), **INTAKE_SERVER)
        setup_django(env)
        from django.db.models import Count

        from agencies.models import ApiKey
        from bookings.models import Booking

        sandbox, sandbox_url = start_sandbox_until_done(stack, env)
        sandbox_port = int(sandbox_url.rsplit(":", 1)[1])
        viewing = make_mspecs_viewing(sandbox_url)
        raw_key = ApiKey.issue(viewing.agency, "bench")[1]
        # Delivery shares the machine with the web processes and yields the CPU to them
        # (nice), as an operator would run it beside a public site. Its per-task log
        # lines would drown the figures; they stay in the temporary directory.
        worker_log = stack.enter_context(open(Path(tmp) / "worker.log", "w"))
        worker = ("delivery_worker", "--interval", "0.2")
        start(stack, manage(*worker, env=env, nice=10, stdout=worker_log, stderr=worker_log))
        # The scheduler too, as `make run` and production run it: its dispatcher wakes the
        # retries that come due while the provider is down.
        scheduler = ("crontask", "--no-heartbeat")
        start(stack, manage(*scheduler, env=env, nice=10, stdout=worker_log, stderr=worker_log))
        base_url = start_gunicorn(stack, env, args.web_workers)
        intake_url = f"{base_url}/api/v1/viewings/{viewing.provider_viewing_id}/bookings"

        load(intake_url, raw_key, 1.0, args.concurrency, "warmup", Phase())
        for round_number in range(args.rounds):
            if round_number:
                sandbox, _ = start_sandbox_until_done(stack, env, sandbox_port)
            load(intake_url, raw_key, seconds, args.concurrency, f"up{round_number}", up)
            stop(sandbox)
            load(intake_url, raw_key, seconds, args.concurrency, f"down{round_number}", down)
        counts = dict(Booking.objects.values_list("status").annotate(n=Count("pk")))
        delivered, waiting, held = (
            counts.get(status, 0) for status in ("delivered", "retrying", "held")
        )

    up_figures, down_figures = up.figures(), down.figures()
    ratio = down_figures["rps"] / up_figures["rps"]
    for label, figures in (("provider up", up_figures), ("provider down", down_figures)):
        print(
            f"{label:11}: {figures['rps']:7.1f} req/s  {figures['requests']} requests  "
            f"p50 {figures['p50_ms']:.1f} ms  p99 {figures['p99_ms']:.1f} ms"
        )
    print(
        f"down/up ratio {ratio:.3f} (target >= {TARGET_RATIO}); meanwhile the worker "
        f"delivered {delivered}, put {waiting} to retry and held {held} behind the open "
        "circuit (bookings/delivery/circuit.py)"
    )
    print(
        f"rps_up={up_figures['rps']:.1f} rps_down={down_figures['rps']:.1f} ratio={ratio:.3f} "
        f"p50_up_ms={up_figures['p50_ms']:.1f} p99_up_ms={up_figures['p99_ms']:.1f} "
        f"p50_down_ms={down_figures['p50_ms']:.1f} p99_down_ms={down_figures['p99_ms']:.1f} "
        f"delivered={delivered} retrying={waiting} held={held} concurrency={args.concurrency} "
        f"web_workers={args.web_workers} seconds_per_state={args.seconds:g} rounds={args.rounds} "
        f"database={env['DATABASE_URL'].split(':', 1)[0]}"
    )


if __name__ == "__main__":
    main()
