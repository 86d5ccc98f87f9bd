"""Keep imported viewings as the provider has them (docs/design.md, "Viewings from the
providers").

`_SourceApplier` is the one place an answer becomes viewings and slots: import
(`apply_source`, a source seen for the first time, in one transaction) and every sync (a
transaction per batch of deals or estates) go through it. What it changes is recorded as
ViewingChange rows, shown on the viewing; unchanged data writes nothing. Nothing is
deleted: a viewing or slot the provider no longer lists is closed for booking, with
the bookings on it listed in the change for staff.

`sync_sources` re-reads deals and estates, one request each, through bookings/fanout.py
(bounded concurrency, back-off on 429): from the worker's schedule (`tasks.sync_imported_
viewings`, only for providers that allow scheduled reads), the admin's "Sync from
provider", `manage.py sync_viewings`, the MSPECS webhook worker and the nightly
catch-up (nightly.py).
"""

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext

from agencies.models import Agency, CredentialStatus
from agencies.problems import Problem
from bookings.buyer.emails import notify_buyer
from bookings.delivery.redaction import redact_answer
from bookings.fanout import call_each
from bookings.models import Booking, ChangedSourcesMark, Viewing, ViewingChange, ViewingSlot
from bookings.problems import viewing_import as problems
from bookings.providers import PLUGINS, client_for, plugin_for
from bookings.providers.base import (
    ImportedSlot,
    ImportedViewing,
    SourceReadError,
    SourceWithdrawn,
)

Kind = ViewingChange.Kind


@dataclass
class Source:
    """One MSPECS deal or Vitec estate of one agency."""

    agency_id: int
    source_id: str


@dataclass
class SyncSummary:
    sources_read: int = 0
    viewings_created: int = 0
    changes: int = 0
    rows_written: int = 0
    errors: dict[str, str] = field(default_factory=dict)  # "agency / source" -> problem

    def __str__(self) -> str:
        return (
            f"{self.sources_read} deals or estates read, {self.viewings_created} viewings "
            f"added, {self.changes} changes, {len(self.errors)} errors"
        )

    def message(self) -> str:
        """For staff, in the active language."""
        return gettext(
            "Synced: %(read)d deals or estates read, %(added)d viewings added, %(changes)d "
            "changes, %(errors)d errors."
        ) % {
            "read": self.sources_read,
            "added": self.viewings_created,
            "changes": self.changes,
            "errors": len(self.errors),
        }


def iso(moment) -> str | None:
    return timezone.localtime(moment).isoformat() if moment else None


class _SourceApplier:
    """Brings one source's viewings in line with an answer, counting what it writes."""

    def __init__(
        self,
        agency: Agency,
        source_id: str,
        now,
        viewings_with_bookings=None,
        reason: Problem | None = None,
    ):
        self.agency = agency
        self.source_id = source_id
        self.now = now
        # Why the provider no longer offers the source (SourceWithdrawn), for staff.
        self.reason = reason
        # Viewing ids with live bookings, when known: the others need no look-up of them.
        self.viewings_with_bookings: set[int] | None = viewings_with_bookings
        self.rows_written = 0
        self.viewings_created: list[Viewing] = []
        # Written by `flush`, for many sources at once.
        self.updates: list[tuple[Viewing | ViewingSlot, tuple[str, ...]]] = []  # (row, fields)
        self.new_slots: list[ViewingSlot] = []
        self.changes: list[ViewingChange] = []
        self.unbookable_slot_ids: list[int] = []
        self.removed_viewing_ids: list[int] = []
        # A new viewing of a known source is titled as its siblings were (a Vitec estate's
        # title and address come from a read that sync does not make).
        self.sibling: Viewing | None = None
        # viewing pk -> {slot pk: when its latest live booking was delivered}
        self.deliveries: dict[int, dict[int, object]] = {}

    def change(self, viewing, kind, *, slot=None, before=None, after=None, bookings_on=None):
        """Record a change; `bookings_on`: the viewing or slot whose live bookings it lists."""
        detail = {} if before is None and after is None else {"before": before, "after": after}
        booking_ids = []
        if bookings_on is not None and (
            self.viewings_with_bookings is None or viewing.pk in self.viewings_with_bookings
        ):
            booking_ids = list(
                bookings_on.bookings.filter(status__in=Booking.Status.live())
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        self.changes.append(
            ViewingChange(
                viewing=viewing,
                slot=slot,
                recorded_at=self.now,
                kind=kind,
                detail=detail,
                booking_ids=booking_ids,
            )
        )

    def update_later(self, obj, fields: list[str]) -> None:
        """These fields of the viewing or slot changed; `flush` writes them."""
        self.updates.append((obj, tuple(fields)))

    def apply(self, imported: list[ImportedViewing], known: list[Viewing]) -> None:
        """`known`: this source's viewings as stored, `with_slots`."""
        existing = {viewing.provider_viewing_id: viewing for viewing in known}
        self.sibling = known[0] if known else None
        new_ids = [v.viewing_id for v in imported if v.viewing_id not in existing]
        if new_ids:
            # A viewing entered by hand under an id the answer names is adopted, not doubled.
            for viewing in with_slots(
                Viewing.objects.filter(agency=self.agency, provider_viewing_id__in=new_ids)
            ):
                existing[viewing.provider_viewing_id] = viewing
        for source_viewing in imported:
            viewing = existing.pop(source_viewing.viewing_id, None)
            if viewing is None:
                self.create(source_viewing)
            else:
                self.update(viewing, source_viewing)
        for viewing in existing.values():
            if viewing.source_id == self.source_id and viewing.removed_from_source_at is None:
                self.remove(viewing)
        if self.reason is not None:  # shown on its viewings while it is withdrawn
            self.rows_written += (
                Viewing.objects.filter(agency=self.agency, source_id=self.source_id)
                .exclude(sync_problem=self.reason)
                .update(sync_problem=self.reason)
            )
            return
        # The source reads again: a problem recorded before is over.
        failed = [v.pk for v in known if v.sync_problem is not None]
        if failed:
            self.rows_written += Viewing.objects.filter(pk__in=failed).update(sync_problem=None)

    def create(self, source: ImportedViewing) -> None:
        # The deal id is what slot status is polled by.
        polls_slot_status = plugin_for(self.agency.provider).polls_slot_status
        viewing = Viewing(
            agency=self.agency,
            provider_viewing_id=source.viewing_id,
            source_id=self.source_id,
            mspecs_deal_id=self.source_id if polls_slot_status else "",
            viewing_type=source.viewing_type,
            title=source.title or (self.sibling.title if self.sibling else self.source_id),
            address=source.address or (self.sibling.address if self.sibling else ""),
            starts_at=source.starts_at,
            ends_at=source.ends_at,
            bookable_from_internet=source.bookable_from_internet,
            booking_closes_at=source.booking_closes_at,
            date_only=source.date_only,
            hide_times=source.hide_times,
        )
        viewing.save()
        self.rows_written += 1
        self.viewings_created.append(viewing)
        self.change(viewing, Kind.IMPORTED)
        self.new_slots += [self.new_slot(viewing, slot) for slot in source.slots]

    def new_slot(self, viewing: Viewing, source: ImportedSlot) -> ViewingSlot:
        return ViewingSlot(
            viewing=viewing,
            provider_slot_id=source.slot_id,
            starts_at=source.starts_at,
            ends_at=source.ends_at,
            capacity=source.capacity,
            free_spots=source.free_spots,
            fully_booked=source.free_spots == 0,
            number_booked=source.number_booked or 0,
            status_checked_at=self.status_time(source),
        )

    def status_time(self, source: ImportedSlot):
        """As of when the slot's status in the answer holds: a count of its buyers as of
        its read; freeSpots as of now, as a slot-status poll would give; else none."""
        if source.number_booked is not None:
            return source.counted_at
        return self.now if source.free_spots is not None else None

    def update(self, viewing: Viewing, source: ImportedViewing) -> None:
        fields = []
        if viewing.source_id != self.source_id:  # a hand-entered viewing, adopted
            viewing.source_id = self.source_id
            fields.append("source_id")
        if viewing.removed_from_source_at is not None:
            viewing.removed_from_source_at = None
            viewing.is_open = True
            fields += ["removed_from_source_at", "is_open"]
            self.change(viewing, Kind.RETURNED)
        times = (source.starts_at, source.ends_at)
        if (viewing.starts_at, viewing.ends_at) != times:
            self.change(
                viewing,
                Kind.MOVED,
                before=[iso(viewing.starts_at), iso(viewing.ends_at)],
                after=[iso(t) for t in times],
                bookings_on=viewing,
            )
            viewing.starts_at, viewing.ends_at = times
            fields += ["starts_at", "ends_at"]
        if viewing.booking_closes_at != source.booking_closes_at:
            self.change(
                viewing,
                Kind.DEADLINE,
                before=iso(viewing.booking_closes_at),
                after=iso(source.booking_closes_at),
            )
            viewing.booking_closes_at = source.booking_closes_at
            fields.append("booking_closes_at")
        if viewing.bookable_from_internet != source.bookable_from_internet:
            self.change(
                viewing,
                Kind.ONLINE_BOOKING,
                before=viewing.bookable_from_internet,
                after=source.bookable_from_internet,
            )
            viewing.bookable_from_internet = source.bookable_from_internet
            fields.append("bookable_from_internet")
        shown = {"date_only": source.date_only, "hide_times": source.hide_times}
        for name, value in shown.items():  # how buyers see its times: no change recorded
            if getattr(viewing, name) != value:
                setattr(viewing, name, value)
                fields.append(name)
        if fields:
            self.update_later(viewing, fields)
        self.update_slots(viewing, source.slots)

    def update_slots(self, viewing: Viewing, source_slots: list[ImportedSlot]) -> None:
        slots = {slot.provider_slot_id: slot for slot in viewing.stored_slots}
        new_slots = []
        for source in source_slots:
            slot = slots.pop(source.slot_id, None)
            if slot is None:
                slot = self.new_slot(viewing, source)
                new_slots.append(slot)
                continue
            fields = []
            if slot.missing_from_provider:
                slot.missing_from_provider = False
                fields.append("missing_from_provider")
                self.change(viewing, Kind.SLOT_RETURNED, slot=slot)
            if (slot.starts_at, slot.ends_at) != (source.starts_at, source.ends_at):
                self.change(
                    viewing,
                    Kind.MOVED,
                    slot=slot,
                    before=[iso(slot.starts_at), iso(slot.ends_at)],
                    after=[iso(source.starts_at), iso(source.ends_at)],
                    bookings_on=slot,
                )
                slot.starts_at, slot.ends_at = source.starts_at, source.ends_at
                fields += ["starts_at", "ends_at"]
            if (slot.capacity, slot.free_spots) != (source.capacity, source.free_spots):
                slot.capacity, slot.free_spots = source.capacity, source.free_spots
                fields += ["capacity", "free_spots"]
                if source.free_spots is not None and slot.fully_booked != (source.free_spots == 0):
                    slot.fully_booked = source.free_spots == 0
                    fields.append("fully_booked")
            if source.number_booked is not None and self.count_is_news(viewing, slot, source):
                slot.number_booked, slot.status_checked_at = source.number_booked, source.counted_at
                fields += ["number_booked", "status_checked_at"]
            if fields:
                self.update_later(slot, fields)
                if not slot.is_bookable:  # it just filled up (or came back full)
                    self.unbookable_slot_ids.append(slot.pk)
        self.new_slots += new_slots
        for slot in new_slots:  # saved by `flush`, before the changes that name them
            self.change(viewing, Kind.SLOT_ADDED, slot=slot, after=iso(slot.starts_at))
        for slot in slots.values():
            if not slot.missing_from_provider:
                self.close_slot(viewing, slot)

    def count_is_news(self, viewing: Viewing, slot: ViewingSlot, source: ImportedSlot) -> bool:
        """Whether the provider's count of the slot's buyers is worth writing: it
        differs, or was never read, or one of our bookings was delivered since it was (the
        new count includes it: ViewingSlot.places_left). An unchanged count is not written."""
        if slot.number_booked != source.number_booked or slot.status_checked_at is None:
            return True
        known = self.viewings_with_bookings
        if known is not None and viewing.pk not in known:
            return False
        if viewing.pk not in self.deliveries:
            delivered = (
                Booking.objects.filter(viewing=viewing, status__in=Booking.Status.live())
                .exclude(delivered_at=None)
                .values("slot_id")
                .annotate(last=Max("delivered_at"))
            )
            self.deliveries[viewing.pk] = {row["slot_id"]: row["last"] for row in delivered}
        last = self.deliveries[viewing.pk].get(slot.pk)
        return last is not None and last > slot.status_checked_at

    def close_slot(self, viewing: Viewing, slot: ViewingSlot) -> None:
        slot.missing_from_provider = True
        self.update_later(slot, ["missing_from_provider"])
        self.change(viewing, Kind.SLOT_REMOVED, slot=slot, bookings_on=slot)
        self.unbookable_slot_ids.append(slot.pk)

    def remove(self, viewing: Viewing) -> None:
        viewing.is_open = False
        viewing.removed_from_source_at = self.now
        self.update_later(viewing, ["is_open", "removed_from_source_at"])
        self.change(viewing, Kind.REMOVED, bookings_on=viewing)
        self.removed_viewing_ids.append(viewing.pk)
        for slot in viewing.stored_slots:
            if not slot.missing_from_provider:
                slot.missing_from_provider = True
                self.update_later(slot, ["missing_from_provider"])
                self.unbookable_slot_ids.append(slot.pk)


def apply_source(
    agency: Agency,
    source_id: str,
    imported: list[ImportedViewing],
    reason: Problem | None = None,
) -> _SourceApplier:
    """Make the agency's viewings of this deal or estate what `imported` says, in one
    transaction; returns what was done (viewings_created, changes, rows_written). `[]`
    closes them all; `reason` (why the source is withdrawn) is then shown on them."""
    applier = _SourceApplier(agency, source_id, timezone.now(), reason=reason)
    with transaction.atomic():
        known = Viewing.objects.filter(agency=agency, source_id=source_id)
        applier.apply(imported, list(with_slots(known)))
        flush([applier])
    return applier


def flush(appliers: list[_SourceApplier]) -> None:
    """Write what the appliers gathered: changed viewings and slots, new slots, then the
    changes (which may name them), then set aside the waiting bookings of slots and
    viewings that closed; a few statements for any number of sources."""
    updates = defaultdict(list)  # (model, fields) -> its rows with those fields changed
    for applier in appliers:
        for obj, fields in applier.updates:
            updates[type(obj), fields].append(obj)
    for (model, fields), objs in updates.items():
        update_rows(model, objs, fields)
    new_slots = [slot for applier in appliers for slot in applier.new_slots]
    ViewingSlot.objects.bulk_create(new_slots)
    changes = [change for applier in appliers for change in applier.changes]
    ViewingChange.objects.bulk_create(changes)
    unbookable = [pk for applier in appliers for pk in applier.unbookable_slot_ids]
    removed = [pk for applier in appliers for pk in applier.removed_viewing_ids]
    set_aside = []
    if unbookable or removed:
        set_aside = Booking.objects.filter(
            Q(slot__in=unbookable) | Q(viewing__in=removed)
        ).set_aside_for_unbookable_slots()
        for booking_id in set_aside:  # their time is gone: the buyer may book another
            notify_buyer(booking_id, Booking.Status.REJECTED)
    for applier in appliers:
        applier.rows_written += len(applier.updates) + len(applier.new_slots) + len(applier.changes)
    if appliers:
        appliers[0].rows_written += len(set_aside)


def update_rows(model, objs: list, fields: tuple[str, ...]) -> None:
    """Save these fields of each object, as save(update_fields=...) would: one UPDATE
    statement, sent once with every row's values. A first sync may move a thousand
    viewings; save() per row or bulk_update (a CASE per row) costs the calling thread ten
    times as long, while the fan-out's calls wait for it (bench/sync.py)."""
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        quote(meta.db_table),
        ", ".join(f"{quote(column.column)} = %s" for column in columns),
        quote(meta.pk.column),
    )
    rows = [
        [column.get_db_prep_save(column.pre_save(obj, add=False), connection) for column in columns]
        + [obj.pk]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def load_viewings(sources: list["Source"]) -> tuple[dict[tuple[int, str], list[Viewing]], set]:
    """The stored viewings of every source, `with_slots`, and the ids of those with live
    bookings, in a few queries."""
    wanted = {(source.agency_id, source.source_id) for source in sources}
    stored = Viewing.objects.filter(
        agency_id__in={agency_id for agency_id, _ in wanted},
        source_id__in={source_id for _, source_id in wanted},
    )
    viewings = defaultdict(list)
    for viewing in with_slots(stored):
        key = (viewing.agency_id, viewing.source_id)
        if key in wanted:  # not another agency's deal of the same id
            viewings[key].append(viewing)
    with_bookings = set(
        Booking.objects.filter(viewing__in=stored, status__in=Booking.Status.live())
        .values_list("viewing_id", flat=True)
        .distinct()
    )
    return viewings, with_bookings


def with_slots(viewings):
    """The viewings, each with `stored_slots`: its slots as stored, read in one more query
    for all of them (a plain list: a sync compares thousands, and a queryset per viewing
    cost more than the comparing)."""
    return viewings.prefetch_related(Prefetch("slots", to_attr="stored_slots"))


def sources_of(viewings) -> list[Source]:
    """The deals and estates behind these imported viewings, each once."""
    pairs = viewings.imported().values_list("agency_id", "source_id").distinct()
    return [Source(agency_id, source_id) for agency_id, source_id in pairs.order_by()]


def syncable_viewings(now=None):
    """Imported viewings that have not ended: the ones a sync keeps up to date."""
    return Viewing.objects.imported().filter(ends_at__gt=now or timezone.now())


def scheduled_viewings(now=None):
    """The syncable viewings of the providers that allow their sources to be read on a
    schedule (MSPECS does not: docs/mspecs.md, "When we read deal data")."""
    systems = [system for system, plugin in PLUGINS.items() if plugin.scheduled_source_reads]
    return syncable_viewings(now).filter(agency__provider__in=systems)


def sync_sources(sources: list[Source]) -> SyncSummary:
    """Read every source once (bounded concurrency, back-off on 429) and apply each answer
    in its own transaction. A source that fails is recorded on its viewings and does not
    stop the others."""
    summary = SyncSummary()
    agencies = Agency.objects.select_related("credential").in_bulk({s.agency_id for s in sources})
    callable_sources = []
    for source in sources:
        agency = agencies[source.agency_id]
        credential = getattr(agency, "credential", None)
        if credential is None:
            record_problem(summary, agency, source, problems.SOURCE_NO_CREDENTIAL())
        elif credential.status == CredentialStatus.FAILING:
            # Calling with a refused credential again and again could lock the account.
            record_problem(summary, agency, source, problems.SOURCE_WAITS_FOR_CREDENTIAL())
        else:
            callable_sources.append(source)
    clients = {
        a.pk: client_for(a.credential) for a in agencies.values() if hasattr(a, "credential")
    }
    concurrency = settings.VIEWING_SYNC_CONCURRENCY
    outcomes = call_each(
        callable_sources,
        lambda source: clients[source.agency_id].fetch_viewings(source.source_id),
        concurrency=concurrency,
        per_agency=settings.VIEWING_SYNC_CONCURRENCY_PER_AGENCY,
    )
    batch = _Batch(summary)
    for source, outcome in outcomes:
        agency = agencies[source.agency_id]
        summary.sources_read += 1
        if isinstance(outcome, SourceWithdrawn):  # as if it listed no viewing
            batch.add(agency, source, [], reason=problems.SOURCE_CLOSED(reason=outcome.problem))
        elif isinstance(outcome, SourceReadError):
            record_problem(summary, agency, source, outcome.problem)
        elif isinstance(outcome, Exception):
            problem = problems.SOURCE_UNREACHABLE(source=source.source_id, answer=repr(outcome))
            record_problem(summary, agency, source, problem)
        else:
            batch.add(agency, source, outcome)
        # The last round's answers are written as they come, so that the sync ends with its
        # last answer rather than a whole batch's write later.
        in_last_round = len(callable_sources) - summary.sources_read < concurrency
        if batch.due() or in_last_round:
            batch.write()
    batch.write()
    return summary


# Answers are applied in one transaction per batch of sources (or per second, whichever
# comes first), as slot polling writes: a commit per source would make a large sync bound
# by the database's commits rather than by the provider's latency. Every answer was
# read whole before it is applied, so a source is never half applied for a bad answer.
# A batch reads its sources' stored viewings in its own transaction: an answer is compared
# with what it overwrites, and the reads are spread over the sync (read all at once at the
# start, they held up the first calls).
WRITE_BATCH = 100
WRITE_EVERY_SECONDS = 1.0


class _Batch:
    def __init__(self, summary: SyncSummary):
        self.summary = summary
        self.pending: list[tuple[Agency, Source, list[ImportedViewing], Problem | None]] = []
        self.written_at = time.monotonic()

    def add(self, agency, source, imported, reason=None) -> None:
        self.pending.append((agency, source, imported, reason))

    def due(self) -> bool:
        return len(self.pending) >= WRITE_BATCH or (
            time.monotonic() - self.written_at >= WRITE_EVERY_SECONDS
        )

    def write(self) -> None:
        if not self.pending:
            return
        now = timezone.now()
        with transaction.atomic():
            known, with_bookings = load_viewings([source for _, source, _, _ in self.pending])
            appliers = []
            for agency, source, imported, reason in self.pending:
                applier = _SourceApplier(agency, source.source_id, now, with_bookings, reason)
                applier.apply(imported, known.get((source.agency_id, source.source_id), []))
                appliers.append(applier)
            flush(appliers)
        for applier in appliers:
            self.summary.viewings_created += len(applier.viewings_created)
            self.summary.changes += len(applier.changes)
            self.summary.rows_written += applier.rows_written
        self.pending = []
        self.written_at = time.monotonic()


def record_problem(summary: SyncSummary, agency: Agency, source: Source, problem: Problem) -> None:
    """On the source's viewings (written only when it is news), and in the summary."""
    problem = redact_answer(problem, getattr(agency, "credential", None))
    summary.errors[f"{agency} / {source.source_id}"] = str(problem)
    summary.rows_written += (
        Viewing.objects.filter(agency=agency, source_id=source.source_id)
        .exclude(sync_problem=problem)
        .update(sync_problem=problem)
    )


# --- the scheduled sync: only what changed, where the provider lists it ----------


@dataclass
class _ChangesOf:
    """An agency whose list of changed sources is read (bookings/fanout.py's item)."""

    agency_id: int


def sync_changed(sources: list[Source]) -> SyncSummary:
    """The scheduled sync of `sources`. For an agency whose provider lists what
    changed (`lists_changed_sources`: Vitec's estates by changedAt), only those of its
    sources listed as changed since its last pass are read; all of them on the first
    pass, once VIEWING_SYNC_ALL_EVERY seconds have passed since they last were (changes the
    list does not show, an estate no longer published: docs/vitec.md), and when the list
    cannot be read. A pass whose reads all succeeded moves the agency's mark on."""
    now = timezone.now()
    agencies = Agency.objects.select_related("credential__changed_sources").in_bulk(
        {source.agency_id for source in sources}
    )
    listing = [
        agency
        for agency in agencies.values()
        if plugin_for(agency.provider).lists_changed_sources
        and getattr(agency, "credential", None) is not None
        and agency.credential.status != CredentialStatus.FAILING
    ]
    marks = {agency.pk: getattr(agency.credential, "changed_sources", None) for agency in listing}
    changed = {
        item.agency_id: outcome
        for item, outcome in call_each(
            [_ChangesOf(agency.pk) for agency in listing],
            lambda item: client_for(agencies[item.agency_id].credential).changed_sources(
                marks[item.agency_id].changed_up_to if marks[item.agency_id] else None
            ),
            concurrency=settings.VIEWING_SYNC_CONCURRENCY,
            per_agency=1,
        )
    }
    due = now - timedelta(seconds=settings.VIEWING_SYNC_ALL_EVERY)
    read_all = {
        agency_id
        for agency_id, outcome in changed.items()
        if marks[agency_id] is None
        or marks[agency_id].all_read_at <= due
        or isinstance(outcome, Exception)
    }
    chosen = [
        source
        for source in sources
        if source.agency_id not in changed
        or source.agency_id in read_all
        or source.source_id in changed[source.agency_id].source_ids
    ]
    summary = sync_sources(chosen)
    for agency in listing:
        outcome = changed[agency.pk]
        if isinstance(outcome, Exception):
            problem = getattr(outcome, "problem", None) or repr(outcome)
            summary.errors[f"{agency} / changes"] = str(redact_answer(problem, agency.credential))
            continue
        read = [source.source_id for source in chosen if source.agency_id == agency.pk]
        all_read_at = now if agency.pk in read_all else None
        move_mark(agency, marks[agency.pk], outcome.up_to, read, all_read_at)
    return summary


def move_mark(agency: Agency, mark, up_to, read: list[str], all_read_at) -> None:
    """Remember how far the agency's changes were read (`up_to`, and `all_read_at` when
    every source was read), unless a source read failed: the next pass then asks from
    the same point. Written only when it moved."""
    failed = Viewing.objects.filter(agency=agency, source_id__in=read, sync_problem__isnull=False)
    if read and failed.exists():
        return
    if mark is None:
        ChangedSourcesMark.objects.create(
            credential=agency.credential, changed_up_to=up_to, all_read_at=all_read_at
        )
        return
    fields = []
    if up_to is not None and (mark.changed_up_to is None or up_to > mark.changed_up_to):
        mark.changed_up_to = up_to
        fields.append("changed_up_to")
    if all_read_at is not None:
        mark.all_read_at = all_read_at
        fields.append("all_read_at")
    if fields:
        mark.save(update_fields=fields)
