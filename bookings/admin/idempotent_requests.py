"""The intake API's stored answers to repeated requests."""

from django.utils.translation import gettext_lazy as _

from agencies.admin import ReadOnlyRecordAdmin
from bookings.models import idempotency_key_digest


class IdempotentRequestAdmin(ReadOnlyRecordAdmin):
    list_display = ["key_digest", "api_key", "response_status", "created_at"]
    list_select_related = ["api_key"]
    # Keys are stored as digests (they may hold personal data): a key is found by its own.
    search_fields = ["key_digest"]
    search_help_text = _("The exact Idempotency-Key.")

    def get_search_results(self, request, queryset, search_term):
        if not search_term:
            return queryset, False
        return queryset.filter(key_digest=idempotency_key_digest(search_term.strip())), False
