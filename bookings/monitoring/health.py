"""Is Viewing Bridge working? The checks behind /healthz and `manage.py check_health`.

Each check answers ok or not with figures, never personal data: the database answers, every
migration is applied, the delivery worker and the scheduler were seen within
HEALTH_STALE_AFTER seconds (their heartbeats: bookings.models.Heartbeat), and no booking has
been due for longer than HEALTH_MAX_DUE_AGE seconds.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Min
from django.db.models.functions import Coalesce
from django.utils import timezone

from bookings.delivery.schedule import due_filter
from bookings.models import Booking, Heartbeat


@dataclass
class Health:
    checks: dict[str, dict] = field(default_factory=dict)

    @property
    def failing(self) -> list[str]:
        return [name for name, check in self.checks.items() if not check["ok"]]

    @property
    def ok(self) -> bool:
        return not self.failing

    def as_json(self) -> dict:
        return {
            "status": "ok" if self.ok else "failing",
            "failing": self.failing,
            "checks": self.checks,
        }


def check() -> Health:
    health = Health()
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        # Nothing else can be read; the error's class says enough and holds no password.
        health.checks["database"] = {"ok": False, "error": type(error).__name__}
        return health
    health.checks["database"] = {"ok": True}
    executor = MigrationExecutor(connection)
    unapplied = executor.migration_plan(executor.loader.graph.leaf_nodes())
    health.checks["migrations"] = {"ok": not unapplied, "unapplied": len(unapplied)}
    try:
        check_processes_and_deliveries(health)
    except DatabaseError as error:
        # e.g. a database not migrated yet has no tables to read them from.
        for name in [*Heartbeat.Process.values, "deliveries"]:
            health.checks.setdefault(name, {"ok": False, "error": type(error).__name__})
    return health


def check_processes_and_deliveries(health: Health) -> None:
    now = timezone.now()
    seen = dict(Heartbeat.objects.values_list("process", "seen_at"))
    for process in Heartbeat.Process:
        seen_at = seen.get(process)
        age = None if seen_at is None else round((now - seen_at).total_seconds(), 1)
        health.checks[process.value] = {
            "ok": age is not None and age <= settings.HEALTH_STALE_AFTER,
            "last_seen_seconds_ago": age,
        }
    # Due since its retry time, or since it was taken in when it has none (updated_at would
    # not do: the dispatcher touches every due booking it wakes).
    due_since = Booking.objects.filter(due_filter(now)).aggregate(
        oldest=Min(Coalesce("next_attempt_at", "created_at"))
    )["oldest"]
    due_age = 0.0 if due_since is None else round(max((now - due_since).total_seconds(), 0), 1)
    health.checks["deliveries"] = {
        "ok": due_age <= settings.HEALTH_MAX_DUE_AGE,
        "oldest_due_booking_seconds": due_age,
    }
