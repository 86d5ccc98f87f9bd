"""Prometheus metrics, computed from the database at scrape time (a prometheus_client
custom collector).

Why from the database: the events they count happen in several processes (web processes
take bookings in, worker processes send them, on as many machines as run), and every one
of them is already a row: a booking with its door (`source`), a DeliveryAttempt with its
outcome and duration. Counting rows is right across processes and restarts without
prometheus_client's multiprocess mode (a shared directory of memory-mapped files per
machine, wiped at each start). The counters are the rows still stored, so deleting old
bookings (retention) lowers them, which Prometheus reads as a counter reset.
"""

from django.db.models import Count, Min, Q, Sum
from django.db.models.fields.json import KT
from django.utils import timezone
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector, CollectorRegistry

from agencies.models import CredentialStatus, Provider, ProviderCredential
from bookings.models import Booking, DeliveryAttempt, Heartbeat, Outcome, Viewing

# The doors a booking comes in by, as the metric names them.
DOORS = {
    Booking.Source.PUBLIC_PAGE: "page",
    Booking.Source.API: "api",
    Booking.Source.ADMIN: "admin",
}
# Upper bounds (seconds) of the attempt duration buckets: a healthy provider answers in
# well under a second; the read timeout is 20 s.
DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30]


class DatabaseCollector(Collector):
    def collect(self):
        yield self.bookings_accepted()
        yield self.deliveries()
        yield self.attempt_durations()
        yield from self.waiting()
        yield self.credentials_failing()
        yield self.slot_poll_failures()
        yield self.last_seen()

    def bookings_accepted(self):
        metric = CounterMetricFamily(
            "viewingbridge_bookings_accepted",
            "Bookings taken in, by the door they came in by.",
            labels=["door"],
        )
        counts = dict(Booking.objects.values_list("source").annotate(Count("pk")))
        for source, door in DOORS.items():
            metric.add_metric([door], counts.get(source, 0))
        return metric

    def deliveries(self):
        metric = CounterMetricFamily(
            "viewingbridge_deliveries",
            "Delivery attempts, by provider and outcome.",
            labels=["broker_system", "outcome"],
        )
        counts = {
            (provider, outcome): count
            for provider, outcome, count in DeliveryAttempt.objects.values_list(
                "booking__viewing__agency__provider", "outcome"
            ).annotate(Count("pk"))
        }
        for provider in Provider.values:
            for outcome in Outcome.values:
                metric.add_metric([provider, outcome], counts.get((provider, outcome), 0))
        return metric

    def attempt_durations(self):
        metric = HistogramMetricFamily(
            "viewingbridge_delivery_attempt_duration_seconds",
            "How long each delivery call to a provider took.",
            labels=["broker_system"],
        )
        bucket_counts = {
            f"le_{index}": Count("pk", filter=Q(duration_ms__lte=bound * 1000))
            for index, bound in enumerate(DURATION_BUCKETS)
        }
        rows = {
            row.pop("booking__viewing__agency__provider"): row
            # An interrupted attempt has no answer, so no duration worth counting.
            for row in DeliveryAttempt.objects.exclude(outcome=Outcome.INTERRUPTED)
            .values("booking__viewing__agency__provider")
            .annotate(total=Count("pk"), sum_ms=Sum("duration_ms"), **bucket_counts)
            .order_by()
        }
        for provider in Provider.values:
            row = rows.get(provider, {})
            buckets = [
                (str(bound), row.get(f"le_{index}", 0))
                for index, bound in enumerate(DURATION_BUCKETS)
            ]
            metric.add_metric(
                [provider],
                buckets=[*buckets, ("+Inf", row.get("total", 0))],
                sum_value=(row.get("sum_ms") or 0) / 1000,
            )
        return metric

    def waiting(self):
        not_done = [status for status in Booking.Status if status not in Booking.Status.final()]
        by_status = GaugeMetricFamily(
            "viewingbridge_bookings_waiting",
            "Bookings not delivered (nor cancelled), by status.",
            labels=["status"],
        )
        counts = dict(
            Booking.objects.filter(status__in=not_done)
            .values_list("status")
            .annotate(Count("pk"))
            .order_by()
        )
        for status in not_done:
            by_status.add_metric([status.value], counts.get(status, 0))
        yield by_status
        oldest = Booking.objects.filter(status__in=not_done).aggregate(Min("created_at"))
        age = GaugeMetricFamily(
            "viewingbridge_oldest_waiting_booking_age_seconds",
            "Age of the oldest booking not delivered (nor cancelled); 0 when there is none.",
        )
        created_at = oldest["created_at__min"]
        age.add_metric([], (timezone.now() - created_at).total_seconds() if created_at else 0)
        yield age

    def credentials_failing(self):
        metric = GaugeMetricFamily(
            "viewingbridge_credentials_failing",
            "Provider credentials refused (their agency's bookings are held).",
            labels=["broker_system"],
        )
        counts = dict(
            ProviderCredential.objects.filter(status=CredentialStatus.FAILING)
            .values_list("agency__provider")
            .annotate(Count("pk"))
            .order_by()
        )
        for provider in Provider.values:
            metric.add_metric([provider], counts.get(provider, 0))
        return metric

    def slot_poll_failures(self):
        metric = GaugeMetricFamily(
            "viewingbridge_slot_poll_errors",
            "Viewings whose last slot-status poll failed, by problem.",
            labels=["problem"],
        )
        for code, count in (
            Viewing.objects.filter(slot_poll_problem__isnull=False)
            .values_list(KT("slot_poll_problem__code"))
            .annotate(Count("pk"))
            .order_by()
        ):
            metric.add_metric([str(code)], count)
        return metric

    def last_seen(self):
        metric = GaugeMetricFamily(
            "viewingbridge_process_last_seen_timestamp_seconds",
            "When the delivery worker and the scheduler last recorded their heartbeat.",
            labels=["process"],
        )
        for process, seen_at in Heartbeat.objects.values_list("process", "seen_at"):
            metric.add_metric([process], seen_at.timestamp())
        return metric


registry = CollectorRegistry(auto_describe=False)
registry.register(DatabaseCollector())
