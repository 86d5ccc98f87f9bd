"""The intake API's stored answers to repeated requests."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from agencies.admin import ReadOnlyRecordAdmin


class IdempotentRequestAdmin(ReadOnlyRecordAdmin):
    list_display = ["key", "api_key", "response_status", "created_at"]
    list_select_related = ["api_key"]
    search_fields = ["key"]
    # The stored answer is the API's JSON, in English: staff see the booking it made.
    fields = ["api_key", "key", "request_fingerprint", "response_status", "booking", "created_at"]
    readonly_fields = fields

    @admin.display(description=_("booking"))
    def booking(self, request_record):
        body = request_record.response_body
        return body.get("id") if isinstance(body, dict) else None
