"""The admin start page's "what needs you": for each agency the user works on, what waits
for staff, each count a link to the list it counts; and the last 14 days' bookings by
outcome. A fixed number of queries (four) whatever the number of agencies or bookings: every
count of one kind is a conditional aggregate of one grouped query."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import reduce
from operator import or_

from django.db.models import Case, Count, F, Min, OuterRef, Q, When
from django.db.models.functions import Now, TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from agencies.models import Agency, CredentialStatus
from bookings.models import Booking, Viewing
from bookings.pagination import BoundedCount
from bookings.providers import systems_with
from bookings.quarantine import queries as quarantine

Status = Booking.Status


@dataclass(frozen=True)
class BookingCount:
    """One count of the start page over the agency's bookings: `condition` selects them,
    `list_filter` is the booking list's query string showing the same bookings. A count
    of one status names it (`status`): those are selected together, on an index."""

    name: str
    label: Promise
    condition: Q
    list_filter: dict[str, str]
    status: str = ""


def status_count(status: Status, label: Promise) -> BookingCount:
    return BookingCount(
        status.value, label, Q(status=status), {"status__exact": status.value}, status
    )


# What the start page counts per agency, in this order: one line each. A count of another
# kind than a status (e.g. buyers' cancellation requests) is a BookingCount with its own
# condition and list filter, and an index on its column.
BOOKING_COUNTS = [
    status_count(Status.HELD, ngettext_lazy("%(count)s held", "%(count)s held", "count")),
    status_count(
        Status.NEEDS_REVIEW,
        ngettext_lazy("%(count)s needs review", "%(count)s need review", "count"),
    ),
    status_count(
        Status.REJECTED, ngettext_lazy("%(count)s rejected", "%(count)s rejected", "count")
    ),
    status_count(Status.FAILED, ngettext_lazy("%(count)s failed", "%(count)s failed", "count")),
    status_count(
        Status.RETRYING, ngettext_lazy("%(count)s retrying", "%(count)s retrying", "count")
    ),
    status_count(
        Status.PROBABLY_DELIVERED,
        ngettext_lazy(
            "%(count)s probably delivered: check the broker system",
            "%(count)s probably delivered: check the broker system",
            "count",
        ),
    ),
    status_count(
        Status.TOO_LATE, ngettext_lazy("%(count)s too late", "%(count)s too late", "count")
    ),
    BookingCount(
        "cancellation_requests",
        ngettext_lazy(
            "%(count)s buyer asked to cancel", "%(count)s buyers asked to cancel", "count"
        ),
        Q(cancellation_requested_at__isnull=False, status__in=Status.not_cancelled()),
        {
            "cancellation_requested_at__isnull": "False",
            "status__in": ",".join(Status.not_cancelled()),
        },
    ),
]


def counted_bookings() -> Q:
    """The bookings any count selects: the counted statuses in one IN (which the partial
    index booking_watched_idx answers alone), other conditions beside it."""
    statuses = [count.status for count in BOOKING_COUNTS if count.status]
    others = [count.condition for count in BOOKING_COUNTS if not count.status]
    return reduce(or_, others, Q(status__in=statuses))


@dataclass
class Item:
    """One line of an agency's list: how many, what, and where they are."""

    count: int
    label: Promise  # "%(count)s ...", singular and plural
    url: str
    detail: str = ""

    @property
    def text(self) -> str:
        return self.label % {"count": self.count}


@dataclass
class AgencyAttention:
    agency: Agency
    items: list[Item] = field(default_factory=list)
    credential_problem: str = ""  # the failing credential, named, and why it fails

    @property
    def needs_attention(self) -> bool:
        return bool(self.credential_problem) or any(item.count for item in self.items)


# Quarantine entries are counted up to this many per agency (then "more than"): counting
# them all is a pass over every delivered booking.
QUARANTINE_COUNT_LIMIT = 1000


def needs_attention(user) -> list[AgencyAttention]:
    """Per agency of the user (every agency for a superuser), by name: what needs staff."""
    agency = OuterRef("pk")
    poll_errors = Viewing.objects.filter(
        agency=agency, slot_poll_problem__isnull=False, is_open=True, ends_at__gt=Now()
    )
    waiting = quarantine.first_bookings(
        quarantine.undecided(Booking.objects.filter(viewing__agency=agency))
    )
    agencies = (
        Agency.objects.for_user(user)
        .select_related("credential")
        .defer("credential__secret")  # not decrypted to show a start page
        .annotate(
            slot_poll_errors=BoundedCount(poll_errors.values("pk")),
            quarantine_waiting=Case(
                When(
                    provider__in=systems_with("has_quarantine"),
                    then=BoundedCount(waiting.values("pk"), QUARANTINE_COUNT_LIMIT),
                ),
                default=None,
            ),
        )
        .order_by("name")
    )
    counts = booking_counts_by_agency(user)
    return [_agency_attention(agency, counts.get(agency.pk, {})) for agency in agencies]


def booking_counts_by_agency(user) -> dict[int, dict]:
    """{agency id: {count name: n, "oldest_retrying": created_at}} in one query."""
    rows = (
        Booking.objects.for_user(user)
        .filter(counted_bookings())
        .values(agency=F("viewing__agency"))
        .annotate(
            # Count("viewing"), never null, rather than the id: a column of the index.
            **{count.name: Count("viewing", filter=count.condition) for count in BOOKING_COUNTS},
            oldest_retrying=Min("created_at", filter=Q(status=Status.RETRYING)),
        )
        .order_by()
    )
    return {row.pop("agency"): row for row in rows}


def _agency_attention(agency: Agency, counts: dict) -> AgencyAttention:
    bookings_url = reverse("admin:bookings_booking_changelist")
    attention = AgencyAttention(agency)
    credential = getattr(agency, "credential", None)
    if credential is not None and credential.status == CredentialStatus.FAILING:
        attention.credential_problem = _("credential failing: %(credential)s, %(problem)s") % {
            "credential": credential,
            "problem": credential.status_problem or "—",
        }
    elif credential is not None and credential.circuit_is_open:
        attention.credential_problem = _(
            "broker system failing, deliveries held (circuit open): %(problem)s"
        ) % {"problem": credential.circuit_problem or "—"}
    for count in BOOKING_COUNTS:
        query = {**count.list_filter, "viewing__agency__id__exact": agency.pk}
        item = Item(counts.get(count.name, 0), count.label, f"{bookings_url}?{urlencode(query)}")
        if count.name == Status.HELD:
            item.detail = attention.credential_problem
        elif count.name == Status.RETRYING and counts.get("oldest_retrying"):
            item.detail = _("oldest: %(age)s") % {"age": timesince(counts["oldest_retrying"])}
        attention.items.append(item)
    viewings_url = reverse("admin:bookings_viewing_changelist")
    poll_query = {
        "agency__id__exact": agency.pk,
        "slot_poll_problem__isnull": "False",
        "is_open__exact": "1",
        "ends_at__gt": timezone.now().isoformat(timespec="seconds"),
    }
    attention.items.append(
        Item(
            agency.slot_poll_errors,
            ngettext_lazy("%(count)s slot-poll error", "%(count)s slot-poll errors", "count"),
            f"{viewings_url}?{urlencode(poll_query)}",
        )
    )
    if agency.quarantine_waiting is not None:  # MSPECS only: Vitec has no quarantine
        waiting = Item(
            agency.quarantine_waiting,
            ngettext_lazy(
                "%(count)s waiting in quarantine", "%(count)s waiting in quarantine", "count"
            ),
            f"{reverse('admin:quarantine_mirror')}?{urlencode({'agency': agency.pk})}",
        )
        if waiting.count > QUARANTINE_COUNT_LIMIT:
            waiting.label = _("more than %(limit)s waiting in quarantine") % {
                "limit": number_format(QUARANTINE_COUNT_LIMIT, force_grouping=True)
            }
        attention.items.append(waiting)
    return attention


# --- the last 14 days, by outcome ------------------------------------------------------------

CHART_DAYS = 14


@dataclass(frozen=True)
class Outcome:
    name: str
    label: Promise
    statuses: tuple[str, ...]


# The chart's stacked bars, bottom up; together they cover every status.
OUTCOMES = [
    Outcome("delivered", _("delivered"), (Status.DELIVERED,)),
    Outcome("on_the_way", _("on the way"), tuple(Status.on_the_way())),
    Outcome("stopped", _("stopped: needs staff"), tuple(Status.stopped())),
    Outcome("cancelled", _("cancelled"), (Status.CANCELLED,)),
]


@dataclass
class Day:
    day: date
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def bookings_by_day(user, days: int = CHART_DAYS) -> list[Day]:
    """The user's bookings made on each of the last `days` days (today included, in the
    current time zone), counted by outcome, in one query."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first, time.min))
    rows = (
        Booking.objects.for_user(user)
        .filter(created_at__gte=start)
        .values(day=TruncDate("created_at"))
        .annotate(
            **{
                outcome.name: Count("viewing", filter=Q(status__in=outcome.statuses))
                for outcome in OUTCOMES
            }
        )
        .order_by()
    )
    by_day = {row.pop("day"): row for row in rows}
    empty = dict.fromkeys((outcome.name for outcome in OUTCOMES), 0)
    return [
        Day(first + timedelta(days=n), by_day.get(first + timedelta(days=n), empty))
        for n in range(days)
    ]


@dataclass(frozen=True)
class Segment:
    outcome: Outcome
    count: int
    y: int
    height: int


@dataclass(frozen=True)
class Bar:
    day: date
    x: int
    total: int
    segments: list[Segment]

    @property
    def middle(self) -> int:
        return self.x + BAR_WIDTH // 2


CHART_HEIGHT = 120
BAR_WIDTH = 24
BAR_STEP = 30


def chart_bars(days: list[Day]) -> list[Bar]:
    """Stacked bars for an inline SVG CHART_HEIGHT high, scaled to the busiest day: the
    geometry is computed here because the Content-Security-Policy allows no inline style,
    and SVG attributes carry it instead."""
    busiest = max((day.total for day in days), default=0) or 1
    bars = []
    for index, day in enumerate(days):
        top, segments = CHART_HEIGHT, []
        for outcome in OUTCOMES:
            count = day.counts[outcome.name]
            height = round(count * CHART_HEIGHT / busiest)
            if count:
                top -= height
                segments.append(Segment(outcome, count, top, height))
        bars.append(Bar(day.day, index * BAR_STEP, day.total, segments))
    return bars
