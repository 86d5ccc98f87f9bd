"""Retention over 1,000,000 bookings on PostgreSQL: bounded memory, short batches, and
the intake answering meanwhile.

Seeds BENCH_BOOKINGS bookings (default 1,000,000) on four agencies' viewings that ended up
to 400 days ago (one agency keeps bookings 30 days, the others the default 90), with a
delivery attempt for every third, straight in SQL (INSERT ... SELECT generate_series).
Then it serves the intake through gunicorn, measures the JSON intake's latency for a while
(before), and runs `manage.py apply_retention` as the operator would while the same load
goes on (during). Prints the retention process's peak RSS (its own, from wait4), the
longest batch (the longest any transaction of it held its locks), the intake p99 before
and during, and ends with one key=value line.

    .venv/bin/python bench/retention.py
    BENCH_BOOKINGS=50000 .venv/bin/python bench/retention.py     # a quick run

BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/vb_bench_retention) is
created when missing and wiped.
"""

import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

from support import (
    INTAKE_SERVER,
    ROOT,
    Phase,
    bench_environment,
    load,
    make_mspecs_viewing,
    setup_django,
    start_gunicorn,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/vb_bench_retention"
AGENCIES = 4
VIEWINGS = 2000
ENDED_UP_TO_DAYS = 400
BEFORE_SECONDS = 15
CONCURRENCY = 2


def create_database(url: str) -> None:
    """CREATE DATABASE when it does not exist yet (through the server's `postgres` db)."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not exists.fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def seed(bookings: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from agencies.models import Agency, Provider
    from bookings.models import Booking, DeliveryAttempt, Viewing

    agencies = [
        Agency.objects.create(
            name=f"Retention {n}",
            slug=f"retention-{n}",
            provider=Provider.MSPECS,
            booking_retention_days=30 if n == 0 else None,
        )
        for n in range(AGENCIES)
    ]
    now = timezone.now()
    Viewing.objects.bulk_create(
        Viewing(
            agency=agencies[n % AGENCIES],
            provider_viewing_id=f"ended-{n}",
            title=f"Ended {n}",
            starts_at=now - timedelta(days=n % ENDED_UP_TO_DAYS, hours=2),
            ends_at=now - timedelta(days=n % ENDED_UP_TO_DAYS, hours=1),
        )
        for n in range(VIEWINGS)
    )
    booking_table = Booking._meta.db_table
    viewing_table = Viewing._meta.db_table
    with connection.cursor() as cursor:
        # One buyer per booking; every 499th still queued (retention cancels it first).
        cursor.execute(
            f"""
            INSERT INTO {booking_table} (
                viewing_id, first_name, last_name, email, phone, message, source,
                consent_given_at, status, attempt_count, provider_errors, provider_reference,
                created_at, updated_at, delivered_at)
            SELECT v.ids[1 + n %% array_length(v.ids, 1)], 'Anna', 'Buyer ' || n,
                'buyer' || n || '@example.se', '+46701111111', 'Message ' || n, 'public',
                now(), CASE WHEN n %% 499 = 0 THEN 'queued' ELSE 'delivered' END, 1,
                '{{}}'::jsonb, '', now(), now(), now()
            FROM generate_series(1, %s) AS n,
                (SELECT array_agg(id ORDER BY id) AS ids FROM {viewing_table}
                 WHERE provider_viewing_id LIKE 'ended-%%') AS v
            """,
            [bookings],
        )
        cursor.execute(
            f"""
            INSERT INTO {DeliveryAttempt._meta.db_table} (
                booking_id, started_at, endpoint, url, http_status, duration_ms, outcome,
                response_excerpt)
            SELECT id, now() - make_interval(days => (id %% 200)::int), 'POST /v3/viewings', '',
                200, 50, 'delivered', '{{"email": "b***@example.se"}}'
            FROM {booking_table} WHERE id %% 3 = 0
            """,
            [],
        )
    with connection.cursor() as cursor:
        # As autovacuum would soon after such a load: the planner needs the new row counts.
        cursor.execute("ANALYZE")


def run_retention(env: dict) -> tuple[str, float, float]:
    """`manage.py apply_retention` in its own process: its output, its peak RSS in MB (its
    own rusage, from wait4) and its wall time."""
    began = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "apply_retention"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.monotonic() - began
    if process.returncode:
        sys.exit(f"apply_retention failed:\n{output}")
    return output, usage.ru_maxrss / 1024, elapsed


def main() -> None:
    size = int(os.environ.get("BENCH_BOOKINGS", "1000000"))
    os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    if not os.environ["BENCH_DATABASE_URL"].startswith("postgres"):
        sys.exit("bench/retention.py measures PostgreSQL: set BENCH_DATABASE_URL=postgres://…")
    create_database(os.environ["BENCH_DATABASE_URL"])
    with tempfile.TemporaryDirectory(prefix="vb-bench-") as tmp, ExitStack() as stack:
        env = bench_environment(Path(tmp), **INTAKE_SERVER)
        setup_django(env)
        from agencies.models import ApiKey
        from bookings.models import Booking

        started = time.monotonic()
        seed(size)
        print(f"seeded {size} bookings in {time.monotonic() - started:.0f} s", flush=True)
        viewing = make_mspecs_viewing("http://127.0.0.1:9")  # nothing is delivered here
        raw_key = ApiKey.issue(viewing.agency, "bench")[1]
        base_url = start_gunicorn(stack, env, workers=2)
        intake_url = f"{base_url}/api/v1/viewings/{viewing.provider_viewing_id}/bookings"

        load(intake_url, raw_key, 1.0, CONCURRENCY, "warmup", Phase())
        before, during = Phase(), Phase()
        load(intake_url, raw_key, BEFORE_SECONDS, CONCURRENCY, "before", before)
        retention_done = threading.Event()
        intake_during = threading.Thread(
            target=load,
            args=(intake_url, raw_key, 24 * 3600, CONCURRENCY, "during", during, retention_done),
        )
        intake_during.start()
        try:
            output, peak_rss_mb, elapsed = run_retention(env)
        finally:
            retention_done.set()
            intake_during.join()
        anonymised = Booking.objects.filter(anonymised_at__isnull=False).count()

    batches = re.search(r"(\d+) batches, the longest ([\d.]+) s", output)
    print(output.rsplit("\r", 1)[-1].strip())
    before_figures, during_figures = before.figures(), during.figures()
    print(
        f"intake p99 before {before_figures['p99_ms']:.1f} ms ({before_figures['requests']} "
        f"requests), during {during_figures['p99_ms']:.1f} ms ({during_figures['requests']})"
    )
    print(
        f"bookings={size} anonymised={anonymised} batches={batches[1]} "
        f"peak_rss_mb={peak_rss_mb:.0f} longest_batch_s={float(batches[2]):.3f} "
        f"intake_p99_before_ms={before_figures['p99_ms']:.1f} "
        f"intake_p99_during_ms={during_figures['p99_ms']:.1f} "
        f"intake_p99_ratio={during_figures['p99_ms'] / before_figures['p99_ms']:.2f} "
        f"elapsed_s={elapsed:.1f}"
    )


if __name__ == "__main__":
    main()
