"""The delivery attempts: each call to a provider, on the booking's page and alone."""

from agencies.admin import ReadOnlyRecordAdmin, ReadOnlyRecordInline
from bookings.models import DeliveryAttempt


class DeliveryAttemptInline(ReadOnlyRecordInline):
    model = DeliveryAttempt
    fields = [
        *("started_at", "endpoint", "url", "http_status", "duration_ms", "outcome"),
        "response_excerpt",
    ]
    readonly_fields = fields


class DeliveryAttemptAdmin(ReadOnlyRecordAdmin):
    list_display = ["booking", "started_at", "endpoint", "http_status", "outcome", "duration_ms"]
    list_filter = ["outcome", "http_status"]
    list_select_related = ["booking"]
    search_fields = ["booking__email", "endpoint"]
