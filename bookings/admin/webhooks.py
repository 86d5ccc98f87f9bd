"""The providers' pushed events."""

from agencies.admin import ReadOnlyRecordAdmin


class WebhookEventAdmin(ReadOnlyRecordAdmin):
    """What MSPECS pushed, as stored before it was answered, and when the worker acted."""

    list_display = [
        "agency",
        "event_type",
        "source_id",
        "deliveries",
        "signed_at",
        "received_at",
        "processed_at",
    ]
    list_filter = ["event_type", "agency"]
    list_select_related = ["agency"]
    search_fields = ["source_id"]
