"""Slot-status polling: 500 MSPECS deals against the sandbox at 50 ms per request.

Starts everything itself: a throwaway SQLite database under a temp dir, the sandbox
providers in a subprocess (`manage.py sandbox`, so the server does not share this process's
GIL), then times `bookings.polling.poll_slots()`. Ends with one key=value line:
requests (must equal deals), elapsed seconds, the ideal N·L/C and ideal/elapsed (≥ 0.9).

    .venv/bin/python bench/poll.py
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEALS = 500
AGENCIES = 5
SLOTS_PER_DEAL = 3
LATENCY = float(os.environ.get("BENCH_LATENCY", "0.05"))


def main() -> None:
    workdir = tempfile.TemporaryDirectory(prefix="bench-poll-")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir.name}/bench.sqlite3"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_DEV_MODE", "1")  # a throwaway database
    # The sandbox serves plain http on loopback: allowed explicitly, as an operator would.
    os.environ.setdefault("BROKER_ALLOWED_HOSTS", "http://127.0.0.1")
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    sandbox = subprocess.Popen(
        [sys.executable, "-u", "manage.py", "sandbox", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # "Sandbox providers: MSPECS http://127.0.0.1:PORT/mspecs, Vitec ..."
        banner = sandbox.stdout.readline()
        base = banner.split("MSPECS ", 1)[1].split("/mspecs", 1)[0]
        seed(base)
        control(base, "latency", {"seconds": LATENCY})

        from bookings.polling import poll_slots

        started = time.monotonic()
        summary = poll_slots()
        elapsed = time.monotonic() - started
        requests_made = json.load(urllib.request.urlopen(f"{base}/_sandbox/state"))[
            "requests_served"
        ]
    finally:
        sandbox.terminate()
        sandbox.wait()
        workdir.cleanup()

    concurrency = min(
        settings.SLOT_POLL_CONCURRENCY, AGENCIES * settings.SLOT_POLL_CONCURRENCY_PER_AGENCY
    )
    ideal = DEALS * LATENCY / concurrency
    assert not summary.errors, summary.errors
    print(
        f"deals={DEALS} requests={requests_made} requests_equal_deals="
        f"{'yes' if requests_made == DEALS else 'no'} concurrency={concurrency} "
        f"latency_ms={LATENCY * 1000:.0f} elapsed_s={elapsed:.2f} ideal_s={ideal:.2f} "
        f"ratio={ideal / elapsed:.2f} slots_changed={summary.slots_changed}"
    )


def control(base: str, command: str, body: dict) -> None:
    request = urllib.request.Request(
        f"{base}/_sandbox/{command}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request).read()


def seed(base: str) -> None:
    """AGENCIES agencies sharing DEALS deals, each deal one viewing of SLOTS_PER_DEAL slots;
    the sandbox knows every first slot as full, so each deal has one slot to change."""
    from django.utils import timezone

    from agencies.models import Agency, Provider, ProviderCredential
    from bookings.models import Viewing, ViewingSlot

    starts_at = timezone.now() + timedelta(days=2)
    agencies = [
        Agency.objects.create(name=f"Bench {n}", slug=f"bench-{n}", provider=Provider.MSPECS)
        for n in range(AGENCIES)
    ]
    for agency in agencies:
        ProviderCredential.objects.create(
            agency=agency, base_url=f"{base}/mspecs", username="sandbox", secret="sandbox-secret"
        )
    viewings = Viewing.objects.bulk_create(
        Viewing(
            agency=agencies[n % AGENCIES],
            provider_viewing_id=f"viewing-{n}",
            mspecs_deal_id=f"deal-{n}",
            viewing_type=Viewing.Type.TIME_SLOTS,
            title=f"Deal {n}",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=1),
        )
        for n in range(DEALS)
    )
    ViewingSlot.objects.bulk_create(
        ViewingSlot(
            viewing=viewing,
            provider_slot_id=f"{viewing.mspecs_deal_id}-slot-{s}",
            starts_at=starts_at + timedelta(minutes=15 * s),
            ends_at=starts_at + timedelta(minutes=15 * (s + 1)),
        )
        for viewing in viewings
        for s in range(SLOTS_PER_DEAL)
    )
    for viewing in viewings:
        deal = viewing.mspecs_deal_id
        capacities = {f"{deal}-slot-{s}": 0 if s == 0 else 5 for s in range(SLOTS_PER_DEAL)}
        control(base, f"deals/{deal}", capacities)


if __name__ == "__main__":
    main()
