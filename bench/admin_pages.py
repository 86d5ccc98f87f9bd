"""Admin page cost from 1,000 to 1,000,000 bookings: SQL queries and median render time of
the admin start page, the booking list, the quarantine mirror and a booking's page (its
timeline read from an admin log of one entry per booking), each beside a bare changelist
of the same model (a plain ModelAdmin on a separate admin site) at the same size.

Runs on PostgreSQL by default: BENCH_DATABASE_URL, or
postgres://postgres@127.0.0.1:5432/vb_bench_admin (created when missing, and wiped). An
empty BENCH_DATABASE_URL runs on a throwaway SQLite file (sizes up to 100,000). Bookings are
seeded in SQL (INSERT ... SELECT over a series of numbers), then the tables are vacuumed and
analysed as autovacuum would have. Pages are rendered in-process through Django's test
client, DEBUG off, by a user who is staff in one agency and administrator in another (the
bare changelist by a superuser, as a plain ModelAdmin needs model permissions); a third
agency's bookings are not theirs.

Prints one line per size, and ends with one key=value line: queries_constant=yes when every
page runs the same number of queries at every size; each ratio is the page's median render
time over the bare changelist's at the largest size.

    .venv/bin/python bench/admin_pages.py [--sizes 1000,10000,100000,1000000]
"""

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import bench_environment, setup_django

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/vb_bench_admin"
POSTGRES_SIZES = "1000,10000,100000,1000000"
SQLITE_SIZES = "1000,10000,100000"
RUNS = 7
# Booking n is on viewing n // BOOKINGS_PER_VIEWING, in its slot n % 3, with an email of
# its own: a buyer holds one live booking per viewing (the one_live_booking_per_viewing
# constraint), so each quarantine entry has one booking.
BOOKINGS_PER_VIEWING = 48
SLOTS_PER_VIEWING = 3
AGENCIES = 3  # the user works on the first two
# Viewing k and slot j of viewing k have the k-th and (3k + j)-th ids: each is inserted in
# order into an empty table (seed_bookings checks it).
VIEWING_IDS = "(SELECT MIN(id) FROM bookings_viewing)"
SLOT_IDS = "(SELECT MIN(id) FROM bookings_viewingslot)"
FIRST_NAMES = ["Björn", "Anna", "Åsa", "Erik", "Zoë"]
# Per 100 bookings, by n % 100: what a long-running agency's history looks like.
STATUS_BY_REMAINDER = [
    (2, "failed"),
    (4, "rejected"),
    (5, "retrying"),
    (6, "held"),
    (7, "needs_review"),
    (8, "queued"),
    (11, "cancelled"),
    (100, "delivered"),
]


def main() -> None:
    os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    on_sqlite = not os.environ["BENCH_DATABASE_URL"]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=SQLITE_SIZES if on_sqlite else POSTGRES_SIZES)
    sizes = [int(size) for size in parser.parse_args().sizes.split(",")]
    if not on_sqlite:
        create_postgres_database(os.environ["BENCH_DATABASE_URL"])
    scratch = tempfile.TemporaryDirectory(prefix="bench-admin-")
    env = bench_environment(
        Path(scratch.name),
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
    )
    setup_django(env)
    from django.conf import settings

    settings.ROOT_URLCONF = bench_urlconf()
    member, superuser = seed_agencies_and_people()
    pages = {
        "start": (member, "/admin/"),
        "list": (member, "/admin/bookings/booking/"),
        "mirror": (member, "/admin/quarantine/"),
        # The first booking seeded, on the member's agency: its page at every size.
        "booking": (member, "/admin/bookings/booking/{first}/change/"),
        "bare": (superuser, "/bare-admin/bookings/booking/"),
    }
    queries, medians = {}, {}
    created = 0
    try:
        for size in sizes:
            first = seed_bookings(start=created, end=size, user=member)
            created = size
            for name, (user, url) in pages.items():
                queries[name, size], medians[name, size] = measure(user, url.format(first=first))
            print(
                f"bookings={size} "
                + " ".join(f"{name}_queries={queries[name, size]}" for name in pages)
                + " "
                + " ".join(f"{name}_ms={medians[name, size]:.0f}" for name in pages),
                flush=True,
            )
    finally:
        scratch.cleanup()
    largest = sizes[-1]
    constant = all(
        queries[name, size] == queries[name, sizes[0]] for name in pages for size in sizes
    )
    ratios = {name: medians[name, largest] / medians["bare", largest] for name in pages}
    ratios.pop("bare")
    print(
        f"bookings={largest} queries_constant={'yes' if constant else 'no'} "
        + " ".join(f"{name}_ratio={ratio:.2f}" for name, ratio in ratios.items())
        + f" ratio_max={max(ratios.values()):.2f}"
        + f" bare_ms={medians['bare', largest]:.0f}"
        + f" database={settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}"
    )


def create_postgres_database(url: str) -> None:
    """The bench database, created on the server when it does not exist yet."""
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    server = parts._replace(path="/postgres").geturl()
    with psycopg.connect(server, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


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


def seed_agencies_and_people():
    """Three agencies (two MSPECS, one Vitec; the Vitec one's credential failing), a user
    who is staff in the first and administrator in the second, and a superuser."""
    from django.contrib.auth.models import User

    from agencies.models import (
        Agency,
        CredentialStatus,
        Membership,
        Provider,
        ProviderCredential,
    )

    systems = [Provider.MSPECS, Provider.VITEC, Provider.MSPECS]
    agencies = [
        Agency.objects.create(name=f"Bench {n}", slug=f"bench-{n}", provider=systems[n])
        for n in range(AGENCIES)
    ]
    for agency in agencies:
        ProviderCredential.objects.create(
            agency=agency,
            base_url="http://127.0.0.1:9/api",
            username="bench",
            secret="bench-secret",
            vitec_customer_id="bench" if agency.provider == Provider.VITEC else "",
            status=CredentialStatus.FAILING
            if agency.provider == Provider.VITEC
            else CredentialStatus.OK,
        )
    member = User.objects.create(username="member", is_staff=True)
    Membership.objects.create(user=member, agency=agencies[0], role=Membership.Role.STAFF)
    Membership.objects.create(user=member, agency=agencies[1], role=Membership.Role.ADMIN)
    superuser = User.objects.create(username="root", is_staff=True, is_superuser=True)
    return member, superuser


def seed_bookings(start: int, end: int, user) -> int:
    """Bookings start..end-1, booking n made n minutes ago, with the viewings and slots
    they need and an admin log entry each (re-sent by `user`), in a few INSERT ... SELECT
    statements. Returns the first booking's id."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction
    from django.utils import timezone

    from agencies.models import Agency
    from bookings.models import Booking, Viewing
    from bookings.problems.delivery import POLL_FAILED

    now = timezone.now()
    first_viewing, last_viewing = (
        -(-start // BOOKINGS_PER_VIEWING),
        (end - 1) // BOOKINGS_PER_VIEWING,
    )
    agency_ids = list(Agency.objects.order_by("pk").values_list("pk", flat=True))
    sql = SeedSql(connection.vendor, now.timestamp())
    with transaction.atomic(), connection.cursor() as cursor:
        if first_viewing <= last_viewing:
            cursor.execute(sql.viewings(first_viewing, last_viewing, agency_ids))
            cursor.execute(sql.slots(first_viewing, last_viewing))
        cursor.execute(sql.bookings(start, end))
        content_type = ContentType.objects.get_for_model(Booking).pk
        cursor.execute(sql.log_entries(start, content_type, user.pk))
        cursor.execute(
            "SELECT (SELECT MAX(id) - MIN(id) + 1 - COUNT(*) FROM bookings_viewing),"
            " (SELECT MAX(id) - MIN(id) + 1 - COUNT(*) FROM bookings_viewingslot),"
            " (SELECT COUNT(*) FROM bookings_booking)"
        )
        check = cursor.fetchone()
        assert check == (0, 0, end), f"viewing and slot ids are not consecutive: {check}"
    # Every 97th viewing's last slot poll failed.
    Viewing.objects.filter(
        provider_viewing_id__in=[f"viewing-{n}" for n in range(first_viewing, last_viewing + 1, 97)]
    ).update(slot_poll_problem=POLL_FAILED(deal="bench", answer="HTTP 503"))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")
    return Booking.objects.order_by("pk").values_list("pk", flat=True).first()


class SeedSql:
    """The seeding statements for PostgreSQL or SQLite: a series of numbers n, and times
    `minutes` before or after the bench's start."""

    def __init__(self, vendor: str, now_epoch: float):
        self.postgres = vendor == "postgresql"
        self.now = now_epoch

    def series(self, first: int, last: int, alias: str = "series") -> str:
        """Rows n = first..last."""
        if self.postgres:
            return f"generate_series({first}, {last}) AS {alias}(n)"
        return (
            f"(WITH RECURSIVE numbers(n) AS (SELECT {first} UNION ALL SELECT n + 1 FROM numbers"
            f" WHERE n < {last}) SELECT n FROM numbers) AS {alias}"
        )

    def time(self, minutes: str) -> str:
        if self.postgres:
            return f"to_timestamp({self.now} + 60 * ({minutes}))"
        return f"strftime('%Y-%m-%d %H:%M:%f', {self.now} + 60 * ({minutes}), 'unixepoch')"

    def uuid(self) -> str:
        return "gen_random_uuid()" if self.postgres else "lower(hex(randomblob(16)))"

    def json_null(self) -> str:
        return "'{}'::jsonb" if self.postgres else "'{}'"

    def viewings(self, first: int, last: int, agency_ids: list[int]) -> str:
        agency = (
            f"CASE n % {len(agency_ids)} "
            + " ".join(f"WHEN {i} THEN {pk}" for i, pk in enumerate(agency_ids))
            + " END"
        )
        starts = f"2 * 24 * 60 - n * {BOOKINGS_PER_VIEWING}"
        return f"""
            INSERT INTO bookings_viewing (agency_id, provider_viewing_id, mspecs_deal_id,
                viewing_type, title, address, starts_at, ends_at, is_open, public_id,
                slots_polled_at, slot_poll_problem)
            SELECT {agency}, 'viewing-' || n, 'deal-' || n, 'ENUMS_VIEWINGS_TYPE_TIME_SLOTS',
                'Storgatan ' || n, '', {self.time(starts)}, {self.time(f"{starts} + 60")},
                TRUE, {self.uuid()}, NULL,
                NULL
            FROM {self.series(first, last)}
            ORDER BY n"""

    def slots(self, first: int, last: int) -> str:
        starts = f"2 * 24 * 60 - v.n * {BOOKINGS_PER_VIEWING} + 20 * k.n"
        return f"""
            INSERT INTO bookings_viewingslot (viewing_id, provider_slot_id, starts_at, ends_at,
                number_booked, fully_booked, status_checked_at, missing_from_provider)
            SELECT viewing.id, 'slot-' || k.n, {self.time(starts)},
                {self.time(f"{starts} + 20")}, 0, FALSE, NULL, FALSE
            FROM {self.series(first, last, "v")}
            JOIN bookings_viewing viewing ON viewing.id = {VIEWING_IDS} + v.n
            CROSS JOIN {self.series(0, SLOTS_PER_VIEWING - 1, "k")}
            ORDER BY v.n, k.n"""

    def bookings(self, start: int, end: int) -> str:
        status = (
            "CASE "
            + " ".join(
                f"WHEN n % 100 < {below} THEN '{name}'" for below, name in STATUS_BY_REMAINDER
            )
            + " END"
        )
        first_name = (
            "CASE n % 5 "
            + " ".join(f"WHEN {i} THEN '{name}'" for i, name in enumerate(FIRST_NAMES))
            + " END"
        )
        created = self.time("-n")
        viewing = f"(n / {BOOKINGS_PER_VIEWING})"
        return f"""
            INSERT INTO bookings_booking (viewing_id, slot_id, first_name, last_name, email,
                phone, message, source, consent_given_at, status, attempt_count,
                next_attempt_at, claimed_until, send_started_at, last_problem,
                provider_errors, provider_reference, created_at, updated_at, delivered_at)
            SELECT viewing.id, slot.id, {first_name}, 'Berg', 'buyer' || n || '@example.se',
                '+46701111111', '', 'public', {created}, {status}, 1,
                CASE WHEN n % 100 IN (4, 7) THEN {self.time("10")} END, NULL, NULL, NULL,
                {self.json_null()}, '', {created}, {created},
                CASE WHEN n % 100 >= 11 THEN {self.time("1 - n")} END
            FROM {self.series(start, end - 1)}
            JOIN bookings_viewing viewing ON viewing.id = {VIEWING_IDS} + {viewing}
            JOIN bookings_viewingslot slot
                ON slot.id = {SLOT_IDS} + {SLOTS_PER_VIEWING} * {viewing} + n % 3"""

    def log_entries(self, start: int, content_type: int, user: int) -> str:
        """One entry of the audit trail (bookings/audit.py) per booking from `start` on."""
        return f"""
            INSERT INTO django_admin_log (action_time, user_id, content_type_id, object_id,
                object_repr, action_flag, change_message)
            SELECT created_at, {user}, {content_type}, CAST(id AS TEXT), 'Bench', 2,
                '[{{"audit": {{"action": "resend", "door": "list"}}}}]'
            FROM bookings_booking
            WHERE id >= (SELECT MIN(id) FROM bookings_booking) + {start}"""


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
