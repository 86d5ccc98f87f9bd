"""The delivery attempts: each call to a provider, on the booking's page and alone."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from agencies.admin import ReadOnlyRecordAdmin, ReadOnlyRecordInline, to_the_second
from bookings.models import DeliveryAttempt


class AttemptDisplay:
    """How an attempt reads on both pages: its time to the second, what the provider
    answered in words."""

    @admin.display(description=_("started at"), ordering="started_at")
    def started(self, attempt):
        return to_the_second(attempt.started_at)

    @admin.display(description=_("answer"))
    def answer(self, attempt):
        return attempt.answer


class DeliveryAttemptInline(AttemptDisplay, ReadOnlyRecordInline):
    model = DeliveryAttempt
    fields = ["started", "endpoint", "http_status", "duration_ms", "outcome", "answer"]
    readonly_fields = fields


class DeliveryAttemptAdmin(AttemptDisplay, ReadOnlyRecordAdmin):
    list_display = ["booking", "started", "endpoint", "http_status", "outcome", "duration_ms"]
    list_filter = ["outcome", "http_status"]
    list_select_related = ["booking"]
    search_fields = ["booking__email", "endpoint"]
    fields = [
        *("booking", "started", "endpoint", "url", "http_status", "duration_ms", "outcome"),
        "answer",
    ]
    readonly_fields = fields
