"""The quarantine mirror: what MSPECS brokers will see in a viewing's quarantine sidebar.

MSPECS puts every external viewer it receives in a quarantine until a broker approves it,
and identifies viewers by email: several bookings with one email become one entry, keeping
one name. We mirror that from our own delivered bookings, because the MSPECS API offers no
way to read the quarantine (docs/mspecs.md); staff record what the broker decided instead
(QuarantineDecision), and decided entries leave the mirror.

An entry is found through its oldest booking: the delivered booking of its (viewing, email)
with no older one (`first_bookings`). Walking delivered bookings in delivery order on an
index, that query stops after the entries of one page, where grouping every delivered booking
to sort the groups by age costs a pass over all of them: at a million bookings, seconds. The
page's bookings are then fetched in one query, and the total is counted up to
COUNTED_ENTRIES (bookings.pagination), so the page costs the same at 10 bookings as at
1,000,000.
"""

import csv
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import batched
from typing import TextIO

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Concat, Lower
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bookings.audit import Action, By, Door, record
from bookings.models import Booking, QuarantineDecision, Viewing
from bookings.providers import systems_with
from bookings.search import without_accents

MIRRORED_STATUSES = Booking.Status.mirrored()


def delivered_mspecs_bookings(user):
    """Bookings that have (most likely) reached an MSPECS quarantine, among the user's
    agencies."""
    return Booking.objects.for_user(user).filter(
        status__in=MIRRORED_STATUSES,
        viewing__agency__provider__in=systems_with("has_quarantine"),
    )


def undecided(bookings):
    """The (probably) delivered ones of `bookings` whose entry no broker decision covers
    yet."""
    decided = QuarantineDecision.objects.filter(
        viewing=OuterRef("viewing"), email=OuterRef("email")
    )
    return bookings.filter(status__in=MIRRORED_STATUSES).exclude(Exists(decided))


def undecided_bookings(user):
    return undecided(delivered_mspecs_bookings(user))


@dataclass(frozen=True)
class MirrorFilters:
    agency: int | None = None
    viewing: int | None = None
    min_age_days: int | None = None
    conflicts_only: bool = False
    search: str = ""
    newest_first: bool = False


def same_entry():
    """The (probably) delivered bookings of the outer query's booking's entry."""
    return Booking.objects.filter(
        viewing=OuterRef("viewing"), email=OuterRef("email"), status__in=MIRRORED_STATUSES
    )


def first_bookings(bookings):
    """Of `bookings` (delivered, undecided), the oldest of each (viewing, email): one per
    entry, its delivery time the entry's age."""
    older = same_entry().filter(
        Q(delivered_at__lt=OuterRef("delivered_at"))
        | Q(delivered_at=OuterRef("delivered_at"), pk__lt=OuterRef("pk"))
    )
    return bookings.exclude(Exists(older))


def pending_entries(user, filters: MirrorFilters | None = None):
    """One row per (viewing, email) still waiting for a broker: {viewing, email, oldest},
    oldest first unless `newest_first`."""
    filters = filters or MirrorFilters()
    bookings = undecided_bookings(user)
    if filters.agency:
        bookings = bookings.filter(viewing__agency=filters.agency)
    if filters.viewing:
        bookings = bookings.filter(viewing=filters.viewing)
    if filters.min_age_days:
        # The entry's age is its oldest booking's: filtering the bookings filters the entries.
        bookings = bookings.filter(
            delivered_at__lte=timezone.now() - timedelta(days=filters.min_age_days)
        )
    entries = first_bookings(bookings)
    if filters.search:
        # An entry matches when any of its bookings does; it is still shown whole.
        entries = entries.filter(Exists(same_entry().filter(_search_condition(filters.search))))
    if filters.conflicts_only:
        entries = entries.alias(name=NAME).filter(
            Exists(same_entry().alias(name=NAME).exclude(name=OuterRef("name")))
        )
    order = ["-delivered_at", "-pk"] if filters.newest_first else ["delivered_at", "pk"]
    return entries.values("viewing", "email", oldest=F("delivered_at")).order_by(*order)


# A buyer's name as MSPECS would compare it (entries whose names differ are flagged).
NAME = Lower(Concat("first_name", Value(" "), "last_name"))


def _search_condition(search: str) -> Q:
    """Every word in a name (accents aside, as in the booking list) or the email."""
    condition = Q()
    for term in without_accents(search).split():
        condition &= (
            Q(first_name__unaccent__icontains=term)
            | Q(last_name__unaccent__icontains=term)
            | Q(email__icontains=term)
        )
    return condition


@dataclass
class MirrorEntry:
    """One prospective buyer as an MSPECS broker will see it: the newest booking's name
    and phone, with every booking merged into it."""

    viewing: Viewing
    email: str
    oldest: datetime
    bookings: list[Booking] = field(default_factory=list)  # newest first

    @property
    def merged(self) -> int:
        return len(self.bookings)

    @property
    def probably_delivered(self) -> bool:
        """Some of its bookings' answers were lost: the broker should find them in MSPECS,
        but staff check."""
        return any(b.is_probably_delivered for b in self.bookings)

    @property
    def has_name_conflict(self) -> bool:
        names = {f"{b.first_name} {b.last_name}".lower() for b in self.bookings}
        return len(names) > 1

    @property
    def current(self) -> Booking:
        return self.bookings[0]

    @property
    def age(self) -> timedelta:
        return timezone.now() - self.oldest


def with_bookings(entry_rows) -> list[MirrorEntry]:
    """Entries for rows of `pending_entries`, with their bookings, in one query."""
    rows = list(entry_rows)
    if not rows:
        return []
    # IN on both columns of the (viewing, email) index, rather than an OR per entry (which
    # SQLite answers with a full scan) or a status condition (which tempts it onto the status
    # index): bookings of other pairs or not delivered are few, and skipped below.
    bookings = (
        Booking.objects.filter(
            viewing_id__in={row["viewing"] for row in rows},
            email__in={row["email"] for row in rows},
        )
        .select_related("viewing__agency")
        .order_by("-delivered_at", "-pk")
    )
    entries = {
        (row["viewing"], row["email"]): MirrorEntry(
            viewing=None, email=row["email"], oldest=row["oldest"]
        )
        for row in rows
    }
    for booking in bookings:
        entry = entries.get((booking.viewing_id, booking.email))
        if entry is None or booking.status not in MIRRORED_STATUSES:
            continue
        entry.viewing = booking.viewing
        entry.bookings.append(booking)
    # An entry whose bookings stopped being delivered since `pending_entries` ran has left
    # the mirror.
    return [entry for entry in entries.values() if entry.bookings]


@transaction.atomic
def record_decision(user, viewing: Viewing, email: str, decision: str) -> QuarantineDecision:
    decision_row, _ = QuarantineDecision.objects.update_or_create(
        viewing=viewing,
        email=email,
        defaults={"decision": decision, "decided_by": user, "decided_at": timezone.now()},
    )
    record(By(user, Door.MIRROR), [decision_row], Action(decision))
    return decision_row


# In the reader's language, like the page.
CSV_HEADER = [
    _("agency"),
    _("viewing"),
    _("viewing starts"),
    _("email"),
    _("name in MSPECS"),
    _("phone in MSPECS"),
    _("merged bookings"),
    _("oldest delivered"),
    _("name conflict"),
    _("all names and phones, newest first"),
    _("booking ids"),
    _("probably delivered (check MSPECS)"),
]


# A spreadsheet runs a cell starting with one of =, +, -, @, tab or CR as a formula, and
# may split our cell at a comma, semicolon, tab, line break or bar (an import with other
# separators, "text to columns"): every part that would start with one, spaces before it
# allowed, gets an apostrophe in front.
FORMULA_START = re.compile(r"(?:^|(?<=[,;|\t\r\n]))(?=[ ]*[=+\-@\t\r])")


def spreadsheet_text(value) -> str:
    """The value as a CSV cell a spreadsheet shows as text: names and messages come from
    anonymous buyers, so a formula is quoted with a leading apostrophe wherever a
    spreadsheet might start a cell."""
    return FORMULA_START.sub("'", str(value))


def write_csv(out: TextIO, user, filters: MirrorFilters, delimiter: str = ",") -> None:
    """The user's pending entries as CSV, every cell quoted."""
    writer = csv.writer(out, delimiter=delimiter, quoting=csv.QUOTE_ALL)
    writer.writerow([str(name) for name in CSV_HEADER])
    writer.writerows(csv_rows(user, filters))


def csv_rows(user, filters: MirrorFilters, chunk_size: int = 500):
    """Every pending entry as a CSV row, the entries read in one query, their bookings a
    chunk of entries at a time."""
    entries = pending_entries(user, filters).iterator(chunk_size=chunk_size)
    for chunk in batched(entries, chunk_size):
        for entry in with_bookings(chunk):
            yield [spreadsheet_text(cell) for cell in _csv_cells(entry)]


def _csv_cells(entry: MirrorEntry) -> list:
    current = entry.current
    return [
        entry.viewing.agency.name,
        entry.viewing.title,
        timezone.localtime(entry.viewing.starts_at).isoformat(),
        entry.email,
        f"{current.first_name} {current.last_name}",
        current.phone,
        entry.merged,
        timezone.localtime(entry.oldest).isoformat(),
        gettext("yes") if entry.has_name_conflict else gettext("no"),
        "; ".join(f"{b.first_name} {b.last_name} {b.phone}" for b in entry.bookings),
        " ".join(str(b.pk) for b in entry.bookings),
        gettext("yes") if entry.probably_delivered else gettext("no"),
    ]
