"""Viewing sync: 500 MSPECS deals and 500 Vitec estates against the sandbox at 50 ms per
request, each read only as its vendor allows, twice: once after every deal and estate gained
a slot, once with nothing changed.

Starts everything itself (a throwaway database, the sandbox providers in a
subprocess), imports every deal and estate first (no latency), then times one pass of the
periodic work: the scheduled sync (`sync_changed(sources_of(scheduled_viewings()))`), which
reads Vitec's estates only (MSPECS forbids scheduled deal reads: docs/mspecs.md), and the
nightly catch-up (`nightly.catch_up()`), which reads each MSPECS agency's published-deals
list and then each imported deal it lists. Each Vitec agency is its own customer with 100
estates: the first pass reads every estate (no pass before it), the second only the
estates Vitec lists as changed since (the one at each customer's mark, docs/vitec.md).

The ideal of a pass is its deal and estate reads · L / C, plus the two rounds of list
reads that must come first (Vitec's changed-estate lists, MSPECS's published-deals lists;
each agency its own subscriber or customer with 100 deals or estates). Ends with one
key=value line: requests per deal or estate in the first pass (must be 1), the MSPECS deals
the scheduled sync read (must be 0), elapsed seconds and ideal/elapsed of each pass
(≥ 0.9), the Vitec estates the second pass read, and the rows it wrote (must be 0), counted
as the summaries' rows and as write statements sent to the database.

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
        deal = mspecs_deal(f"deal-{n}", [viewing])
        control(base, f"mspecs-deals/deal-{n}?subscriber={mspecs_subscriber(n)}", deal)
        estate = {
            "viewings": [vitec_viewing(f"vv-{n}", starts_at, slot_ids)],
            "customer_id": vitec_customer(n),
        }
        control(base, f"vitec-estates/estate-{n}", estate)


def mspecs_subscriber(n: int) -> str:
    """The MSPECS subscriber of deal `n` and of agency `n` (one subscriber per agency)."""
    return f"sandbox-subscriber-{n % AGENCIES_PER_SYSTEM}"


def vitec_customer(n: int) -> str:
    """The Vitec customer of estate `n` and of agency `n` (one customer per agency)."""
    return f"sandbox-customer-{n % AGENCIES_PER_SYSTEM}"


def make_agencies(base: str) -> list:
    from agencies.models import Agency, Provider, ProviderCredential

    agencies = []
    for system, path in ((Provider.MSPECS, "mspecs"), (Provider.VITEC, "vitec")):
        for n in range(AGENCIES_PER_SYSTEM):
            agency = Agency.objects.create(
                name=f"{system} {n}", slug=f"{system}-{n}", provider=system
            )
            ProviderCredential.objects.create(
                agency=agency,
                base_url=f"{base}/{path}",
                username="sandbox",
                secret="sandbox-secret",
                mspecs_subscriber_id=mspecs_subscriber(n) if path == "mspecs" else "",
                vitec_customer_id=vitec_customer(n) if path == "vitec" else "",
            )
            agencies.append(agency)
    return agencies


def requests_by_path(base: str) -> dict[str, int]:
    return control(base, "state", None)["requests_by_path"]


def run_pass(base: str) -> dict:
    """The scheduled sync, then the nightly catch-up; what each read and wrote."""
    from bookings.viewing_import import nightly
    from bookings.viewing_import.sync import scheduled_viewings, sources_of, sync_changed

    before = requests_by_path(base)
    started = time.monotonic()
    scheduled = sync_changed(sources_of(scheduled_viewings()))
    after_scheduled = requests_by_path(base)
    caught_up = nightly.catch_up()
    elapsed = time.monotonic() - started
    after = requests_by_path(base)
    assert not scheduled.errors and not caught_up.synced.errors and not caught_up.errors
    return {
        "elapsed": elapsed,
        "scheduled": scheduled,
        "caught_up": caught_up,
        "during_scheduled": diff(after_scheduled, before),
        "reads": diff(after, before),
    }


def diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {path: n - before.get(path, 0) for path, n in after.items() if n > before.get(path, 0)}


def main() -> None:
    scratch = tempfile.TemporaryDirectory(prefix="bench-sync-")
    env = bench_environment(Path(scratch.name))
    setup_django(env)
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from bookings.viewing_import.service import import_source

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

        first = run_pass(base)
        writes = []

        def count_writes(execute, sql, params, many, context):
            if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
                writes.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count_writes):
            second = run_pass(base)
    finally:
        sandbox.terminate()
        sandbox.wait()
        scratch.cleanup()

    deal_paths = [f"/mspecs/api/marketing/deals/deal-{n}" for n in range(SOURCES_PER_SYSTEM)]
    estate_paths = [
        f"/vitec/Viewing/{vitec_customer(n)}/estate-{n}" for n in range(SOURCES_PER_SYSTEM)
    ]
    per_source = [first["reads"].get(path, 0) for path in (*deal_paths, *estate_paths)]
    scheduled_deal_reads = sum(
        run["during_scheduled"].get(path, 0) for run in (first, second) for path in deal_paths
    )
    concurrency = min(
        settings.VIEWING_SYNC_CONCURRENCY,
        AGENCIES_PER_SYSTEM * settings.VIEWING_SYNC_CONCURRENCY_PER_AGENCY,
    )

    def ideal(run) -> float:
        source_reads = sum(run["reads"].get(path, 0) for path in (*deal_paths, *estate_paths))
        # The lists go out before the deals and estates: Vitec's changed-estate lists in
        # one round, then MSPECS's published-deals lists in another.
        return source_reads * LATENCY / concurrency + 2 * LATENCY

    rows_second = second["scheduled"].rows_written + second["caught_up"].synced.rows_written
    print(
        f"sources={2 * SOURCES_PER_SYSTEM} requests={sum(per_source)} "
        f"requests_per_source_min={min(per_source)} requests_per_source_max={max(per_source)} "
        f"mspecs_deals_read_by_schedule={scheduled_deal_reads} "
        f"concurrency={concurrency} latency_ms={LATENCY * 1000:.0f} "
        f"first_ideal_s={ideal(first):.2f} first_elapsed_s={first['elapsed']:.2f} "
        f"first_ratio={ideal(first) / first['elapsed']:.2f} "
        f"first_changes={first['scheduled'].changes + first['caught_up'].synced.changes} "
        f"second_ideal_s={ideal(second):.2f} second_elapsed_s={second['elapsed']:.2f} "
        f"second_ratio={ideal(second) / second['elapsed']:.2f} "
        f"vitec_estates_read_second_run={sum(second['reads'].get(p, 0) for p in estate_paths)} "
        f"rows_written_second_run={rows_second} "
        f"write_statements_second_run={len(writes)}"
    )


if __name__ == "__main__":
    main()
