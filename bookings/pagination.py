"""Counting for long lists: exact up to a bound, "more than" beyond it.

An exact count of a million bookings (or quarantine entries) is a pass over all of them on
every page view, for a number nobody reads exactly; counting at most COUNT_LIMIT + 1 rows
stops early and still pages through the first COUNT_LIMIT. Filters narrow the list to what
matters, and their counts are exact again."""

from django.core.paginator import Paginator
from django.db.models import IntegerField, Subquery
from django.utils.functional import cached_property

COUNT_LIMIT = 10_000


class BoundedCountPaginator(Paginator):
    """A Paginator whose `count` stops at `count_limit` + 1; `count_is_bounded` says the
    true number is larger than `count_limit`."""

    def __init__(self, *args, count_limit: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.count_limit = count_limit or COUNT_LIMIT

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.count_limit + 1].count()

    @property
    def count_is_bounded(self) -> bool:
        return self.count > self.count_limit


class BoundedCount(Subquery):
    """An annotation counting the rows of a (correlated) queryset, up to `limit` + 1."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS bounded_count)"
    output_field = IntegerField()

    def __init__(self, queryset, limit: int = COUNT_LIMIT):
        super().__init__(queryset.order_by()[: limit + 1])
