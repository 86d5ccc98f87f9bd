"""Admin page cost at 1,000 and 100,000 bookings: SQL queries and median render time of
the booking changelist and the quarantine mirror, beside a bare changelist of the same
model (a plain ModelAdmin on a separate admin site).

Starts everything itself: a throwaway SQLite database under a temp dir, DEBUG off, pages
rendered in-process through Django's test client by a member of the agencies (the bare
changelist by a superuser, as a plain ModelAdmin needs model permissions). Ends with one
key=value line; queries_constant=yes when no page needs more queries at 100,000.

    .venv/bin/python bench/admin_pages.py
"""

import contextlib
import os
import statistics
import sys
import tempfile
import time
import types
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = [1_000, 100_000]
RUNS = 7
VIEWINGS = 50
SLOTS_PER_VIEWING = 3


def main() -> None:
    workdir = tempfile.TemporaryDirectory(prefix="bench-admin-")
    os.environ.update(
        DATABASE_URL=f"sqlite:///{workdir.name}/bench.sqlite3",
        DEBUG="false",
        SECRET_KEY="bench-only-secret-key-" + "x" * 40,
        FIELD_ENCRYPTION_KEYS="YmVuY2gtb25seS1maWVsZC1lbmNyeXB0aW9uLWtleSE=",
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    settings.ROOT_URLCONF = bench_urlconf()
    member, superuser, slots = seed_people_and_viewings()
    pages = {
        "changelist": (member, "/admin/bookings/booking/"),
        "mirror": (member, "/admin/quarantine/"),
        "bare": (superuser, "/bare-admin/bookings/booking/"),
    }
    figures = {}
    created = 0
    try:
        for size in SIZES:
            add_bookings(slots, start=created, count=size - created)
            created = size
            label = f"{size // 1000}k"
            for name, (user, url) in pages.items():
                queries, median_ms = measure(user, url)
                figures[f"{name}_queries_{label}"] = queries
                figures[f"{name}_ms_{label}"] = f"{median_ms:.0f}"
    finally:
        workdir.cleanup()
    small, large = (f"{s // 1000}k" for s in SIZES)
    constant = all(
        figures[f"{name}_queries_{large}"] <= figures[f"{name}_queries_{small}"] for name in pages
    )
    figures["queries_constant"] = "yes" if constant else "no"
    print(" ".join(f"{key}={value}" for key, value in figures.items()))


def bench_urlconf() -> str:
    """The project's URLs plus a bare admin site with a plain ModelAdmin for Booking."""
    from django.contrib import admin
    from django.urls import path

    from bookings.models import Booking
    from config import urls

    bare_site = admin.AdminSite(name="bare")
    bare_site.register(Booking)
    module = types.ModuleType("bench_urls")
    module.urlpatterns = [path("bare-admin/", bare_site.urls), *urls.urlpatterns]
    sys.modules["bench_urls"] = module
    return "bench_urls"


def seed_people_and_viewings():
    from django.contrib.auth.models import User
    from django.utils import timezone

    from agencies.models import Agency, BrokerSystem, Membership
    from bookings.models import Viewing, ViewingSlot

    agencies = [
        Agency.objects.create(
            name=f"Bench {n}", slug=f"bench-{n}", broker_system=BrokerSystem.MSPECS
        )
        for n in range(2)
    ]
    member = User.objects.create(username="member", is_staff=True)
    for agency in agencies:
        Membership.objects.create(user=member, agency=agency)
    superuser = User.objects.create(username="root", is_staff=True, is_superuser=True)
    starts_at = timezone.now() + timedelta(days=3)
    viewings = Viewing.objects.bulk_create(
        Viewing(
            agency=agencies[n % len(agencies)],
            provider_viewing_id=f"viewing-{n}",
            title=f"Viewing {n}",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=1),
            viewing_type=Viewing.Type.TIME_SLOTS,
            mspecs_deal_id=f"deal-{n}",
        )
        for n in range(VIEWINGS)
    )
    # A buyer has one live booking per slot, so repeat bookings go to the other slots.
    slots = ViewingSlot.objects.bulk_create(
        ViewingSlot(
            viewing=viewing,
            provider_slot_id=f"slot-{n}",
            starts_at=starts_at + timedelta(minutes=20 * n),
            ends_at=starts_at + timedelta(minutes=20 * (n + 1)),
        )
        for viewing in viewings
        for n in range(SLOTS_PER_VIEWING)
    )
    return member, superuser, slots


def add_bookings(slots, start: int, count: int) -> None:
    """Bookings as after a while of real use: most delivered, each email booked in the
    three slots of one viewing under different names."""
    from django.utils import timezone

    from bookings.models import Booking

    now = timezone.now()
    statuses = [Booking.Status.DELIVERED] * 8 + [Booking.Status.QUEUED, Booking.Status.FAILED]
    Booking.objects.bulk_create(
        (
            Booking(
                viewing_id=slots[n % len(slots)].viewing_id,
                slot=slots[n % len(slots)],
                first_name=f"Buyer{n % 7}",
                last_name="Berg",
                email=f"buyer{n // 3}@example.se",
                phone="+46701111111",
                status=statuses[n % len(statuses)],
                delivered_at=now - timedelta(minutes=n),
            )
            for n in range(start, start + count)
        ),
        batch_size=5000,
    )


def measure(user, url: str) -> tuple[int, float]:
    from django.test import Client

    client = Client()
    client.force_login(user)
    assert client.get(url).status_code == 200, url  # warm up
    with count_queries() as queries:
        client.get(url)
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return queries[0], statistics.median(timings)


@contextlib.contextmanager
def count_queries():
    """Count every SQL statement at the cursor, whichever connection object runs it (the
    test client's request may not see the connection this thread's `connection` names)."""
    from django.db.backends.utils import CursorWrapper

    counted = [0]
    execute = CursorWrapper._execute

    def counting_execute(self, *args, **kwargs):
        counted[0] += 1
        return execute(self, *args, **kwargs)

    CursorWrapper._execute = counting_execute
    try:
        yield counted
    finally:
        CursorWrapper._execute = execute


if __name__ == "__main__":
    main()
