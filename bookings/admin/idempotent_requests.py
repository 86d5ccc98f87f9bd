"""The intake API's stored answers to repeated requests."""

from agencies.admin import ReadOnlyRecordAdmin


class IdempotentRequestAdmin(ReadOnlyRecordAdmin):
    list_display = ["key", "api_key", "response_status", "created_at"]
    list_select_related = ["api_key"]
    search_fields = ["key"]
