from django import forms
from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from agencies.admin import AgencyScopedAdmin
from bookings.intake import accept_booking
from bookings.models import (
    Booking,
    DeliveryAttempt,
    IdempotentRequest,
    QuarantineDecision,
    Viewing,
    ViewingSlot,
)


class ViewingSlotInline(admin.TabularInline):
    model = ViewingSlot
    extra = 0
    fields = [
        "provider_slot_id",
        "starts_at",
        "ends_at",
        "number_booked",
        "fully_booked",
        "missing_from_provider",
        "status_checked_at",
    ]
    readonly_fields = ["status_checked_at"]


@admin.register(Viewing)
class ViewingAdmin(AgencyScopedAdmin):
    list_display = ["title", "agency", "starts_at", "viewing_type", "is_open", "slot_count"]
    list_filter = ["agency", "viewing_type", "is_open", "agency__broker_system"]
    list_select_related = ["agency"]
    search_fields = ["title", "address", "provider_viewing_id", "mspecs_deal_id"]
    date_hierarchy = "starts_at"
    ordering = ["-starts_at"]  # explicit: Meta.ordering is dropped by the slot-count GROUP BY
    readonly_fields = ["public_id", "slots_polled_at", "slot_poll_error"]
    inlines = [ViewingSlotInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(slot_count=Count("slots"))

    @admin.display(description=_("slots"), ordering="slot_count")
    def slot_count(self, viewing):
        return viewing.slot_count


@admin.register(ViewingSlot)
class ViewingSlotAdmin(AgencyScopedAdmin):
    list_display = ["__str__", "viewing", "number_booked", "fully_booked", "status_checked_at"]
    list_filter = ["fully_booked", "missing_from_provider", "viewing__agency"]
    list_select_related = ["viewing"]
    search_fields = ["viewing__title", "provider_slot_id"]


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ["started_at", "endpoint", "http_status", "duration_ms", "outcome", "response_excerpt"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class SlotChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, slot):
        return f"{slot.viewing.title}: {slot}"


@admin.register(Booking)
class BookingAdmin(AgencyScopedAdmin):
    list_display = [
        "__str__",
        "viewing",
        "slot",
        "status",
        "attempt_count",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "source", "viewing__agency", "viewing__agency__broker_system"]
    list_select_related = ["viewing", "slot"]
    search_fields = ["first_name", "last_name", "email", "phone", "provider_reference"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["viewing"]
    readonly_fields = [
        "status",
        "attempt_count",
        "next_attempt_at",
        "last_error",
        "provider_errors",
        "provider_reference",
        "created_at",
        "updated_at",
        "delivered_at",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "viewing",
                    "slot",
                    ("first_name", "last_name"),
                    ("email", "phone"),
                    "message",
                    "source",
                    "consent_given_at",
                ]
            },
        ),
        (
            _("Delivery"),
            {
                "fields": [
                    ("status", "attempt_count", "next_attempt_at"),
                    "last_error",
                    "provider_errors",
                    "provider_reference",
                    ("created_at", "updated_at", "delivered_at"),
                ]
            },
        ),
    ]
    inlines = [DeliveryAttemptInline]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "slot":
            kwargs["queryset"] = ViewingSlot.objects.for_user(request.user).select_related(
                "viewing"
            )
            kwargs["form_class"] = SlotChoiceField
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        else:
            accept_booking(obj)  # new bookings go through intake: saved queued, then delivered


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(AgencyScopedAdmin):
    list_display = ["booking", "started_at", "endpoint", "http_status", "outcome", "duration_ms"]
    list_filter = ["outcome", "http_status"]
    list_select_related = ["booking"]
    search_fields = ["booking__email", "endpoint"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(QuarantineDecision)
class QuarantineDecisionAdmin(AgencyScopedAdmin):
    list_display = ["email", "viewing", "decision", "decided_by", "decided_at"]
    list_filter = ["decision"]
    list_select_related = ["viewing", "decided_by"]
    search_fields = ["email", "viewing__title"]


@admin.register(IdempotentRequest)
class IdempotentRequestAdmin(AgencyScopedAdmin):
    list_display = ["key", "api_key", "response_status", "created_at"]
    list_select_related = ["api_key"]
    search_fields = ["key"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
