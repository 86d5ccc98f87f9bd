"""The viewings and their slots: imported from a provider or entered by staff, with
what syncs changed and the import page (bookings/viewing_import/admin.py)."""

from datetime import datetime
from functools import partial

from django.contrib import admin, messages
from django.db.models import Count
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from agencies.admin import (
    AgencyScopedAdmin,
    AgencyScopedInline,
    ReadOnlyRecordInline,
)
from agencies.problems import problem_text
from bookings import polling
from bookings.models import ViewingChange, ViewingSlot
from bookings.viewing_import import sync
from bookings.viewing_import.admin import import_view

# What the provider decides for an imported viewing: shown, never typed by hand.
IMPORTED_VIEWING_FIELDS = [
    "provider_viewing_id",
    "mspecs_deal_id",
    "viewing_type",
    "starts_at",
    "ends_at",
    "bookable_from_internet",
    "booking_closes_at",
]
IMPORTED_SLOT_FIELDS = ["provider_slot_id", "starts_at", "ends_at", "missing_from_provider"]


class ViewingSlotInline(AgencyScopedInline):
    model = ViewingSlot
    extra = 0
    fields = [
        "provider_slot_id",
        "starts_at",
        "ends_at",
        "places",
        "number_booked",
        "fully_booked",
        "missing_from_provider",
        "status_checked_at",
    ]
    readonly_fields = ["places", "status_checked_at"]

    @admin.display(description=_("places left"))
    def places(self, slot):
        left = slot.places_left() if slot.pk else None
        if left is None:
            return "—"
        return f"{left} / {slot.capacity}" if slot.capacity is not None else str(left)

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        return [*readonly, *IMPORTED_SLOT_FIELDS] if obj and obj.is_imported else readonly

    def has_add_permission(self, request, obj=None):
        # An imported viewing's slots come from the provider.
        return not (obj and obj.is_imported) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not (obj and obj.is_imported) and super().has_delete_permission(request, obj)


class ViewingChangeInline(ReadOnlyRecordInline):
    """What syncs with the provider changed, newest first, with the bookings on it."""

    model = ViewingChange
    verbose_name = _("change from the broker system")
    verbose_name_plural = _("changes from the broker system")
    fields = ["recorded_at", "kind", "slot", "what_changed", "bookings_concerned"]
    readonly_fields = fields

    @admin.display(description=_("what changed"))
    def what_changed(self, change):
        detail = change.detail or {}
        if not detail:
            return "—"
        return format_html(
            "{} → {}", describe_value(detail["before"]), describe_value(detail["after"])
        )

    @admin.display(description=_("bookings concerned"))
    def bookings_concerned(self, change):
        if not change.booking_ids:
            return "—"
        url = reverse("admin:bookings_booking_changelist")
        ids = ",".join(str(pk) for pk in change.booking_ids)
        return format_html(
            '<a href="{}?id__in={}">{}</a>',
            url,
            ids,
            ngettext("%(count)d booking", "%(count)d bookings", len(change.booking_ids))
            % {"count": len(change.booking_ids)},
        )


def describe_value(value) -> str:
    """A change's before or after value as staff read it: times in local time."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, list):
        return "–".join(describe_value(part) for part in value)
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return str(value)
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")


class ViewingAdmin(AgencyScopedAdmin):
    list_display = [
        "title",
        "agency",
        "starts_at",
        "viewing_type",
        "is_open",
        "slot_count",
        "slots_polled_at",
        "slot_poll_error",
    ]
    list_filter = [
        "agency",
        "viewing_type",
        "is_open",
        "bookable_from_internet",
        "agency__provider",
    ]
    list_select_related = ["agency"]
    search_fields = ["title", "address", "provider_viewing_id", "mspecs_deal_id", "source_id"]
    date_hierarchy = "starts_at"
    ordering = ["-starts_at"]  # explicit: Meta.ordering is dropped by the slot-count GROUP BY
    readonly_fields = [
        "public_id",
        "booking_page",
        "source_id",
        "removed_from_source_at",
        "sync_error",
        "slots_polled_at",
        "slot_poll_error",
    ]
    inlines = [ViewingSlotInline, ViewingChangeInline]
    actions = ["refresh_slot_status", "sync_from_provider"]

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(partial(import_view, self)),
                name="bookings_viewing_import",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        may_import = self.user_agencies(request, admin_role=True).exists()
        return super().changelist_view(request, {**(extra_context or {}), "may_import": may_import})

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        return [*readonly, *IMPORTED_VIEWING_FIELDS] if obj and obj.is_imported else readonly

    @admin.display(description=_("sync problem"))
    def sync_error(self, viewing):
        return problem_text(viewing.sync_problem)

    @admin.display(description=_("slot poll error"))
    def slot_poll_error(self, viewing):
        return problem_text(viewing.slot_poll_problem)

    @admin.action(description=_("Refresh slot status"))
    def refresh_slot_status(self, request, queryset):
        summary = polling.poll_slots(queryset)
        if not summary.deals_polled and not summary.errors:
            self.message_user(
                request,
                _("None of these is an MSPECS time-slot viewing with a deal id."),
                messages.WARNING,
            )
            return
        self.message_user(request, str(summary), messages.SUCCESS)
        for deal, error in summary.errors.items():
            self.message_user(request, f"{deal}: {error}", messages.ERROR)

    @admin.action(description=_("Sync from broker system"))
    def sync_from_provider(self, request, queryset):
        sources = sync.sources_of(queryset)
        if not sources:
            self.message_user(
                request, _("None of these was imported from a broker system."), messages.WARNING
            )
            return
        summary = sync.sync_sources(sources)
        self.message_user(request, summary.message(), messages.SUCCESS)
        for source, error in summary.errors.items():
            self.message_user(request, f"{source}: {error}", messages.ERROR)

    @admin.display(description=_("public booking page"))
    def booking_page(self, viewing):
        if viewing.pk is None:
            return "—"
        url = reverse("booking-page", args=[viewing.public_id])
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, url)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(slot_count=Count("slots"))

    @admin.display(description=_("slots"), ordering="slot_count")
    def slot_count(self, viewing):
        return viewing.slot_count


class ViewingSlotAdmin(AgencyScopedAdmin):
    list_display = ["__str__", "viewing", "number_booked", "fully_booked", "status_checked_at"]
    list_filter = ["fully_booked", "missing_from_provider", "viewing__agency"]
    list_select_related = ["viewing"]
    search_fields = ["viewing__title", "provider_slot_id"]
