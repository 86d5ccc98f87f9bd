"""Viewing sync: 500 MSPECS deals and 500 Vitec estates against the sandbox at 50 ms per
request, twice: once after every deal and estate gained a slot, once with nothing changed.

Starts everything itself (a throwaway database, the sandbox broker systems in a
subprocess), imports every deal and estate first (no latency), then times the scheduled
sync, `bookings.viewing_import.sync.sync_changed()`. Each Vitec agency is its own customer
with 100 estates: the first run reads every estate (no pass before it), the second only the
estates Vitec lists as changed since (the one at each customer's mark, docs/vitec.md). Ends
with one key=value line: requests per deal or estate in the first run (must be 1), elapsed
seconds of each run, the ideal N·L/C and ideal/elapsed (≥ 0.9), the Vitec estates the
second run read, and the rows it wrote (must be 0), counted as the summary's rows and as
write statements sent to the database.

    .venv/bin/python bench/sync.py
"""

import json
import os
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import bench_environment, setup_django, start_sandbox

SOURCES_PER_SYSTEM = 500
AGENCIES_PER_SYSTEM = 5
LATENCY = float(os.environ.get("BENCH_LATENCY", "0.05"))


def control(base: str, command: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{base}/_sandbox/{command}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    return json.load(urllib.request.urlopen(request))


def seed_sandbox(base: str, starts_at, slots_per_viewing: int) -> None:
    """Every deal one time-slot viewing, every estate one viewing, each of this many slots."""
    from tests.factories import mspecs_deal, mspecs_slot_viewing, vitec_viewing

    for n in range(SOURCES_PER_SYSTEM):
        slot_ids = [f"s-{n}-{s}" for s in range(slots_per_viewing)]
        viewing = mspecs_slot_viewing(f"mv-{n}", starts_at, slot_ids)
        control(base, f"mspecs-deals/deal-{n}", mspecs_deal(f"deal-{n}", [viewing]))
        estate = {
            "viewings": [vitec_viewing(f"vv-{n}", starts_at, slot_ids)],
            "customer_id": vitec_customer(n),
        }
        control(base, f"vitec-estates/estate-{n}", estate)


def vitec_customer(n: int) -> str:
    """The Vitec customer of estate `n` and of agency `n` (one customer per agency)."""
    return f"sandbox-customer-{n % AGENCIES_PER_SYSTEM}"


def make_agencies(base: str) -> list:
    from agencies.models import Agency, BrokerSystem, ProviderCredential

    agencies = []
    for system, path in ((BrokerSystem.MSPECS, "mspecs"), (BrokerSystem.VITEC, "vitec")):
        for n in range(AGENCIES_PER_SYSTEM):
            agency = Agency.objects.create(
                name=f"{system} {n}", slug=f"{system}-{n}", broker_system=system
            )
            ProviderCredential.objects.create(
                agency=agency,
                base_url=f"{base}/{path}",
                username="sandbox",
                secret="sandbox-secret",
                mspecs_subscriber_id="sandbox-subscriber" if path == "mspecs" else "",
                vitec_customer_id=vitec_customer(n) if path == "vitec" else "",
            )
            agencies.append(agency)
    return agencies


def main() -> None:
    scratch = tempfile.TemporaryDirectory(prefix="bench-sync-")
    env = bench_environment(Path(scratch.name))
    setup_django(env)
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from bookings.viewing_import.service import import_source
    from bookings.viewing_import.sync import sources_of, sync_changed, syncable_viewings

    starts_at = (timezone.now() + timedelta(days=7)).replace(microsecond=0)
    sandbox, base = start_sandbox(env)
    try:
        seed_sandbox(base, starts_at, slots_per_viewing=3)
        agencies = make_agencies(base)
        mspecs, vitec = agencies[:AGENCIES_PER_SYSTEM], agencies[AGENCIES_PER_SYSTEM:]
        for n in range(SOURCES_PER_SYSTEM):
            for agency, source in ((mspecs, f"deal-{n}"), (vitec, f"estate-{n}")):
                result = import_source(agency[n % AGENCIES_PER_SYSTEM], source)
                assert result.problem is None, result.problem
        seed_sandbox(base, starts_at, slots_per_viewing=4)  # each gains a slot at the end
        control(base, "latency", {"seconds": LATENCY})
        sources = sources_of(syncable_viewings())
        before = control(base, "state", None)["requests_by_path"]

        started = time.monotonic()
        first = sync_changed(sources)
        first_elapsed = time.monotonic() - started
        after = control(base, "state", None)["requests_by_path"]

        writes = []

        def count_writes(execute, sql, params, many, context):
            if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
                writes.append(sql)
            return execute(sql, params, many, context)

        started = time.monotonic()
        with connection.execute_wrapper(count_writes):
            second = sync_changed(sources_of(syncable_viewings()))
        second_elapsed = time.monotonic() - started
        last = control(base, "state", None)["requests_by_path"]
    finally:
        sandbox.terminate()
        sandbox.wait()
        scratch.cleanup()

    vitec_paths = [
        f"/vitec/Viewing/{vitec_customer(n)}/estate-{n}" for n in range(SOURCES_PER_SYSTEM)
    ]
    per_source = [
        after.get(path, 0) - before.get(path, 0)
        for path in (
            *(f"/mspecs/api/marketing/deals/deal-{n}" for n in range(SOURCES_PER_SYSTEM)),
            *vitec_paths,
        )
    ]
    vitec_second = sum(last.get(path, 0) - after.get(path, 0) for path in vitec_paths)
    assert not first.errors and not second.errors, (first.errors, second.errors)
    concurrency = min(
        settings.VIEWING_SYNC_CONCURRENCY,
        len(agencies) * settings.VIEWING_SYNC_CONCURRENCY_PER_AGENCY,
    )
    ideal = len(sources) * LATENCY / concurrency
    print(
        f"sources={len(sources)} requests={sum(per_source)} "
        f"requests_per_source_min={min(per_source)} requests_per_source_max={max(per_source)} "
        f"concurrency={concurrency} latency_ms={LATENCY * 1000:.0f} ideal_s={ideal:.2f} "
        f"first_elapsed_s={first_elapsed:.2f} first_ratio={ideal / first_elapsed:.2f} "
        f"first_changes={first.changes} first_rows_written={first.rows_written} "
        f"second_elapsed_s={second_elapsed:.2f} second_ratio={ideal / second_elapsed:.2f} "
        f"vitec_estates_read_second_run={vitec_second} "
        f"rows_written_second_run={second.rows_written} "
        f"write_statements_second_run={len(writes)}"
    )


if __name__ == "__main__":
    main()
