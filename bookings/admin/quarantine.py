"""Staff decisions on quarantined buyers (their pages: bookings/quarantine/)."""

from django.utils import timezone

from agencies.admin import AgencyScopedAdmin


class QuarantineDecisionAdmin(AgencyScopedAdmin):
    list_display = ["email", "viewing", "decision", "decided_by", "decided_at"]
    list_filter = ["decision"]
    list_select_related = ["viewing", "decided_by"]
    search_fields = ["email", "viewing__title"]
    readonly_fields = ["decided_by", "decided_at"]

    def save_model(self, request, obj, form, change):
        obj.decided_by = request.user
        obj.decided_at = timezone.now()
        super().save_model(request, obj, form, change)
