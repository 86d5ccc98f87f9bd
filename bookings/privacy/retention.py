"""Retention: personal data is kept only as long as settings say (docs/settings.md).
Bookings are anonymised BOOKING_RETENTION_DAYS after their viewing ended (or the agency's
shorter period); delivery attempts, finished task results and Idempotency-Key records are
deleted after their own periods, as are the webhook events a provider pushed (kept while
the deal's sync waits or for what went wrong; they hold no buyer's data: docs/mspecs.md,
"Webhooks"); expired sessions are cleared.

Each kind of row is handled in one pass over its table, every agency at once, in ranges
of RETENTION_BATCH_SIZE primary keys (the range's end read from the table's own key
index), each range in its own short transaction: no lock is held for long, intake keeps
answering, memory stays bounded and every query is bounded by its key range, whatever the
table's size (bench/retention.py measures it)."""

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from agencies.models import Agency
from bookings.audit import Actor, By, Door
from bookings.delivery.task_rows import finished_task_results
from bookings.models import (
    Booking,
    DeliveryAttempt,
    IdempotentRequest,
    QuarantineDecision,
    WebhookEvent,
)
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
    "webhook_events_deleted",
]


@dataclass
class RetentionReport:
    """What retention did (or, on a dry run, would do)."""

    dry_run: bool = False
    per_agency: dict[str, Counter] = field(default_factory=dict)
    task_results_deleted: int = 0
    batches: int = 0
    longest_batch_seconds: float = 0.0

    def add(self, agency_slug: str | None, done: Counter) -> None:
        if agency_slug is None:
            self.task_results_deleted += done["task_results_deleted"]
        else:
            self.per_agency.setdefault(agency_slug, Counter()).update(done)

    def total(self, kind: str) -> int:
        return sum(counts[kind] for counts in self.per_agency.values())


@dataclass
class Work:
    """One kind of row to handle: the rows due, the path from a row to its agency's slug
    (None: rows of no agency), and what to do with a batch of one agency's rows."""

    kind: str
    rows: QuerySet
    agency_slug: str | None
    handle: Callable[[QuerySet], Counter]

    def due_by_agency(self) -> dict[str | None, int]:
        return count_by_agency(self.rows, self.agency_slug)


def count_by_agency(rows: QuerySet, agency_slug: str | None) -> dict[str | None, int]:
    if agency_slug is None:
        return {None: rows.count()}
    return dict(rows.order_by().values_list(agency_slug).annotate(models.Count("pk")))


def key_ranges(model, size: int) -> Iterator[Q]:
    """The model's table as consecutive ranges of `size` primary keys, read one range
    ahead (rows handled meanwhile shift nothing: each range starts after the last)."""
    rows = model._default_manager.order_by("pk").values_list("pk", flat=True)
    after = None
    while True:
        page = rows if after is None else rows.filter(pk__gt=after)
        last = page[size - 1 : size].first() or page.last()
        if last is None:
            return
        yield Q(pk__lte=last) if after is None else Q(pk__gt=after, pk__lte=last)
        after = last


def in_batches(work: Work, report: RetentionReport, on_progress: Callable[[int], None]) -> None:
    """Handle `work.rows` one key range at a time, each in its own transaction, timed (the
    longest is the longest any lock was held)."""
    for key_range in key_ranges(work.rows.model, settings.RETENTION_BATCH_SIZE):
        started = time.monotonic()
        with transaction.atomic():
            batch = work.rows.filter(key_range).order_by()
            if work.agency_slug is None:
                keys_by_agency = {None: list(batch.values_list("pk", flat=True))}
            else:
                keys_by_agency = {}
                for key, slug in batch.values_list("pk", work.agency_slug):
                    keys_by_agency.setdefault(slug, []).append(key)
            for slug, keys in keys_by_agency.items():
                if keys:
                    # Found due in this transaction: by key alone from here, which keeps
                    # every further query on the primary key index.
                    report.add(slug, work.handle(work.rows.model.objects.filter(pk__in=keys)))
                    on_progress(len(keys))
        report.batches += 1
        report.longest_batch_seconds = max(report.longest_batch_seconds, time.monotonic() - started)


def anonymiser(by: By) -> Callable[[QuerySet], Counter]:
    def anonymise(bookings: QuerySet) -> Counter:
        cancelled = cancel_undelivered(bookings, by)
        anonymised = anonymise_bookings(bookings)
        return Counter(bookings_cancelled=cancelled, bookings_anonymised=anonymised)

    return anonymise


def deleted(kind: str) -> Callable[[QuerySet], Counter]:
    def delete(rows: QuerySet) -> Counter:
        # The queryset's delete, so cascades and signals apply; counted for its own model.
        return Counter({kind: rows.delete()[1].get(rows.model._meta.label, 0)})

    return delete


def decisions_anonymised(decisions: QuerySet) -> Counter:
    return Counter(decisions_anonymised=anonymise_decisions(decisions))


def days_before(now, setting: str):
    return now - timedelta(days=getattr(settings, setting))


def viewing_ended_before_retention(now, path: str = "viewing__") -> Q:
    """Rows of viewings that ended longer ago than their agency's booking retention, one
    condition per distinct period (few: the operator's and the agencies' own)."""
    agencies_by_period: dict[timedelta, list[int]] = {}
    for agency in Agency.objects.all():
        agencies_by_period.setdefault(agency.booking_retention, []).append(agency.pk)
    condition = Q(pk__in=[])
    for period, agency_ids in agencies_by_period.items():
        condition |= Q(**{f"{path}agency__in": agency_ids, f"{path}ends_at__lt": now - period})
    return condition


def retention_work(now, who) -> list[Work]:
    expired = viewing_ended_before_retention(now)
    bookings = (
        Booking.objects.filter(expired, anonymised_at__isnull=True)
        # One being sent is left to its worker; the next night takes it.
        .exclude(status=Booking.Status.SENDING)
    )
    decisions = QuarantineDecision.objects.filter(expired).exclude(
        email__endswith=f"@{ERASED_DOMAIN}"
    )
    attempts = DeliveryAttempt.objects.filter(
        started_at__lt=days_before(now, "DELIVERY_ATTEMPT_RETENTION_DAYS")
    )
    idempotency_records = IdempotentRequest.objects.filter(
        created_at__lt=days_before(now, "IDEMPOTENCY_RETENTION_DAYS")
    )
    webhook_events = WebhookEvent.objects.filter(
        received_at__lt=days_before(now, "WEBHOOK_EVENT_RETENTION_DAYS")
    )
    work = [
        Work(
            "bookings_anonymised",
            bookings,
            "viewing__agency__slug",
            anonymiser(By(who, Door.RETENTION).resolved()),
        ),
        Work("decisions_anonymised", decisions, "viewing__agency__slug", decisions_anonymised),
        Work(
            "delivery_attempts_deleted",
            attempts,
            "booking__viewing__agency__slug",
            deleted("delivery_attempts_deleted"),
        ),
        Work(
            "idempotency_records_deleted",
            idempotency_records,
            "api_key__agency__slug",
            deleted("idempotency_records_deleted"),
        ),
        Work(
            "webhook_events_deleted",
            webhook_events,
            "agency__slug",
            deleted("webhook_events_deleted"),
        ),
    ]
    finished_tasks = finished_task_results(days_before(now, "TASK_RESULT_RETENTION_DAYS"))
    if finished_tasks is not None:
        work.append(
            Work("task_results_deleted", finished_tasks, None, deleted("task_results_deleted"))
        )
    return work


def apply_retention(
    *,
    dry_run: bool = False,
    on_start: Callable[[int], None] = lambda total: None,
    on_progress: Callable[[int], None] = lambda rows: None,
    now=None,
    who=Actor.SYSTEM,
) -> RetentionReport:
    """Anonymise and delete what is past its retention (on a dry run: only count it).
    `on_start` is told how many rows there are to handle, `on_progress` how many each
    batch handled; bookings cancelled on the way are recorded as done by `who` (the
    nightly task: the system; the command: the operator)."""
    now = now or timezone.now()
    report = RetentionReport(dry_run=dry_run)
    for slug in Agency.objects.order_by("slug").values_list("slug", flat=True):
        report.per_agency[slug] = Counter({kind: 0 for kind in AGENCY_COUNTS})
    work = retention_work(now, who)
    due = {item.kind: item.due_by_agency() for item in work}
    on_start(sum(count for by_agency in due.values() for count in by_agency.values()))
    for item in work:
        if dry_run:
            for slug, count in due[item.kind].items():
                report.add(slug, Counter({item.kind: count}))
            if item.kind == "bookings_anonymised":
                undelivered = item.rows.filter(status__in=UNDELIVERED)
                for slug, count in count_by_agency(undelivered, item.agency_slug).items():
                    report.add(slug, Counter(bookings_cancelled=count))
        elif any(due[item.kind].values()):
            in_batches(item, report, on_progress)
    if not dry_run:
        import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    return report
