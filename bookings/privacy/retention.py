"""Retention: personal data is kept only as long as settings say (README, Settings).
Bookings are anonymised BOOKING_RETENTION_DAYS after their viewing ended (or the agency's
shorter period); delivery attempts, finished task results and Idempotency-Key records are
deleted after their own periods; expired sessions are cleared.

Everything runs in batches of RETENTION_BATCH_SIZE rows, walking the primary key upwards
(keyset: each batch is the next range of keys), each batch in its own short transaction:
no lock is held for long, intake keeps answering, and memory stays bounded whatever the
table's size (bench/retention.py measures all three)."""

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from agencies.models import Agency
from bookings.delivery.task_rows import uses_database_backend
from bookings.models import Booking, DeliveryAttempt, IdempotentRequest, QuarantineDecision
from bookings.privacy.anonymise import (
    ERASED_DOMAIN,
    UNDELIVERED,
    anonymise_bookings,
    anonymise_decisions,
    cancel_undelivered,
)

# What is counted per agency, in the order printed.
AGENCY_COUNTS = [
    "bookings_anonymised",
    "bookings_cancelled",
    "decisions_anonymised",
    "delivery_attempts_deleted",
    "idempotency_records_deleted",
]


@dataclass
class RetentionReport:
    """What retention did (or, on a dry run, would do)."""

    dry_run: bool = False
    per_agency: dict[str, Counter] = field(default_factory=dict)
    task_results_deleted: int = 0
    batches: int = 0
    longest_batch_seconds: float = 0.0

    def total(self, kind: str) -> int:
        return sum(counts[kind] for counts in self.per_agency.values())


@dataclass
class Work:
    """One kind of row to handle: for an agency (or for none: task results)."""

    agency: Agency | None
    kind: str
    rows: QuerySet
    handle: Callable[[QuerySet], Counter]


def batches(rows: QuerySet, size: int) -> Iterator[list]:
    """The primary keys of `rows`, `size` at a time in ascending order, each batch read
    after the previous one was handled (so rows it changed or deleted are not read again)."""
    last = None
    while True:
        page = rows.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        keys = list(page.values_list("pk", flat=True)[:size])
        if not keys:
            return
        yield keys
        last = keys[-1]


def in_batches(work: Work, report: RetentionReport, on_progress: Callable[[int], None]) -> Counter:
    """Handle `work.rows` one batch at a time, each in its own transaction, timed (the
    longest is the longest any lock was held); returns the sum of what was done."""
    done = Counter()
    for keys in batches(work.rows, settings.RETENTION_BATCH_SIZE):
        started = time.monotonic()
        with transaction.atomic():
            done += work.handle(work.rows.filter(pk__in=keys))
        report.batches += 1
        report.longest_batch_seconds = max(report.longest_batch_seconds, time.monotonic() - started)
        on_progress(len(keys))
    return done


def anonymise(bookings: QuerySet) -> Counter:
    cancelled = cancel_undelivered(bookings)
    return Counter(bookings_cancelled=cancelled, bookings_anonymised=anonymise_bookings(bookings))


def deleted(kind: str) -> Callable[[QuerySet], Counter]:
    def delete(rows: QuerySet) -> Counter:
        # The queryset's delete, so cascades and signals apply; counted for its own model.
        return Counter({kind: rows.delete()[1].get(rows.model._meta.label, 0)})

    return delete


def decisions_anonymised(decisions: QuerySet) -> Counter:
    return Counter(decisions_anonymised=anonymise_decisions(decisions))


def days_before(now, setting: str):
    return now - timedelta(days=getattr(settings, setting))


def agency_work(agency: Agency, now) -> list[Work]:
    ended_before = now - agency.booking_retention
    bookings = Booking.objects.filter(
        viewing__agency=agency, viewing__ends_at__lt=ended_before, anonymised_at__isnull=True
    ).exclude(status=Booking.Status.SENDING)  # its worker finishes first; the next night then
    decisions = QuarantineDecision.objects.filter(
        viewing__agency=agency, viewing__ends_at__lt=ended_before
    ).exclude(email__endswith=f"@{ERASED_DOMAIN}")
    attempts = DeliveryAttempt.objects.filter(
        booking__viewing__agency=agency,
        started_at__lt=days_before(now, "DELIVERY_ATTEMPT_RETENTION_DAYS"),
    )
    idempotency_records = IdempotentRequest.objects.filter(
        api_key__agency=agency, created_at__lt=days_before(now, "IDEMPOTENCY_RETENTION_DAYS")
    )
    return [
        Work(agency, "bookings_anonymised", bookings, anonymise),
        Work(agency, "decisions_anonymised", decisions, decisions_anonymised),
        Work(agency, "delivery_attempts_deleted", attempts, deleted("delivery_attempts_deleted")),
        Work(
            agency,
            "idempotency_records_deleted",
            idempotency_records,
            deleted("idempotency_records_deleted"),
        ),
    ]


def task_result_work(now) -> list[Work]:
    """Finished task results of the django-tasks-db backend (its own model and queryset;
    another backend keeps or expires its results itself)."""
    if not uses_database_backend():
        return []
    from django_tasks_db.models import DBTaskResult

    finished = DBTaskResult.objects.finished().filter(
        finished_at__lt=days_before(now, "TASK_RESULT_RETENTION_DAYS")
    )
    return [Work(None, "task_results_deleted", finished, deleted("task_results_deleted"))]


def apply_retention(
    *,
    dry_run: bool = False,
    on_start: Callable[[int], None] = lambda total: None,
    on_progress: Callable[[int], None] = lambda rows: None,
    now=None,
) -> RetentionReport:
    """Anonymise and delete what is past its retention (on a dry run: only count it).
    `on_start` is told how many rows there are to handle, `on_progress` how many each
    batch handled."""
    now = now or timezone.now()
    report = RetentionReport(dry_run=dry_run)
    work = [item for agency in Agency.objects.order_by("slug") for item in agency_work(agency, now)]
    work += task_result_work(now)
    due = {id(item): item.rows.count() for item in work}
    on_start(sum(due.values()))
    for item in work:
        if dry_run:
            done = Counter({item.kind: due[id(item)]})
            if item.handle is anonymise:
                done["bookings_cancelled"] = item.rows.filter(status__in=UNDELIVERED).count()
        else:
            done = in_batches(item, report, on_progress) if due[id(item)] else Counter()
        if item.agency is None:
            report.task_results_deleted += done[item.kind]
        else:
            report.per_agency.setdefault(item.agency.slug, Counter()).update(done)
    if not dry_run:
        import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    return report
