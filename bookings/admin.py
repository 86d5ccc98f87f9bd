from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.db.models.functions import Coalesce
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from agencies.admin import (
    AgencyScopedAdmin,
    AgencyScopedInline,
    ReadOnlyRecordAdmin,
)
from agencies.problems import problem_text
from bookings import polling
from bookings.delivery import admin as credential_admin  # noqa: F401 (registers it)
from bookings.delivery import engine
from bookings.intake.service import accept_booking
from bookings.models import (
    DUPLICATE_BOOKING,
    DUPLICATE_BOOKING_ERROR,
    Booking,
    DeliveryAttempt,
    IdempotentRequest,
    QuarantineDecision,
    Viewing,
    ViewingSlot,
)
from bookings.pagination import BoundedCountPaginator
from bookings.search import without_accents


class ViewingSlotInline(AgencyScopedInline):
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
    list_filter = ["agency", "viewing_type", "is_open", "agency__broker_system"]
    list_select_related = ["agency"]
    search_fields = ["title", "address", "provider_viewing_id", "mspecs_deal_id"]
    date_hierarchy = "starts_at"
    ordering = ["-starts_at"]  # explicit: Meta.ordering is dropped by the slot-count GROUP BY
    readonly_fields = ["public_id", "booking_page", "slots_polled_at", "slot_poll_error"]
    inlines = [ViewingSlotInline]
    actions = ["refresh_slot_status"]

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


@admin.register(ViewingSlot)
class ViewingSlotAdmin(AgencyScopedAdmin):
    list_display = ["__str__", "viewing", "number_booked", "fully_booked", "status_checked_at"]
    list_filter = ["fully_booked", "missing_from_provider", "viewing__agency"]
    list_select_related = ["viewing"]
    search_fields = ["viewing__title", "provider_slot_id"]


class DeliveryAttemptInline(AgencyScopedInline):
    model = DeliveryAttempt
    extra = 0
    fields = [
        *("started_at", "endpoint", "url", "http_status", "duration_ms", "outcome"),
        "response_excerpt",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def delivery_action(function, description):
    """An admin action around a staff action in bookings.delivery.engine: a confirmation page
    when more than one booking is selected, then a message with the counts."""

    @admin.action(description=description, permissions=["change"])
    def action(modeladmin, request, queryset):
        if len(queryset) > 1 and not request.POST.get("post"):
            return TemplateResponse(
                request,
                "admin/bookings/booking/confirm_delivery_action.html",
                {
                    **modeladmin.admin_site.each_context(request),
                    "title": _("Are you sure?"),
                    "opts": modeladmin.model._meta,
                    "action_name": function.__name__,
                    "description": description,
                    "bookings": queryset,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                },
            )
        result = function(queryset)
        level = messages.WARNING if result.skipped else messages.SUCCESS
        modeladmin.message_user(request, f"{description}: {result.message}", level)
        return None

    action.__name__ = function.__name__
    return action


class ViewingTimeFilter(admin.SimpleListFilter):
    """When the booked time (the slot's, or the viewing's without slots) is."""

    title = _("viewing time")
    parameter_name = "viewing_time"

    def lookups(self, request, model_admin):
        return [
            ("today", _("Today")),
            ("next_7_days", _("Next 7 days")),
            ("upcoming", _("Upcoming")),
            ("past", _("Past")),
        ]

    def queryset(self, request, queryset):
        now = timezone.localtime()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        ranges = {
            "today": (midnight, midnight + timedelta(days=1)),
            "next_7_days": (now, now + timedelta(days=7)),
            "upcoming": (now, None),
            "past": (None, now),
        }
        if self.value() not in ranges:
            return queryset
        start, end = ranges[self.value()]
        booked_time = Coalesce("slot__starts_at", "viewing__starts_at")
        queryset = queryset.alias(booked_time=booked_time)
        if start is not None:
            queryset = queryset.filter(booked_time__gte=start)
        if end is not None:
            queryset = queryset.filter(booked_time__lt=end)
        return queryset


def short_time(moment) -> str:
    """A date and time as the booking list shows them, ISO 8601 in the current time zone
    (read alike in Swedish and English; strftime, as a hundred rows of localised
    date_format cost more than the rest of the row)."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def in_brief(text: str, length: int = 90) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


class SlotChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, slot):
        return f"{slot.viewing.title}: {slot}"


BUYER_FIELDS = [
    "viewing",
    "slot",
    "first_name",
    "last_name",
    "email",
    "phone",
    "message",
    "consent_given_at",
]


@admin.register(Booking)
class BookingAdmin(AgencyScopedAdmin):
    class Media:
        css = {"all": ["bookings/admin.css"]}

    # Status first, with why (attempts, last error); four columns beside the admin's
    # navigation and the filters fit a window 1280 px wide (tests/test_browser_cockpit.py).
    list_display = [
        "coloured_status",
        "buyer",
        "viewing_and_time",
        "received",
    ]
    list_display_links = ["buyer"]
    list_filter = [
        "status",
        ("created_at", admin.DateFieldListFilter),
        ViewingTimeFilter,
        "source",
        "viewing__agency",
        "viewing__agency__broker_system",
    ]
    # No list of viewings beside the list: an agency has hundreds. A viewing's bookings are
    # ?viewing__id__exact=<id>, or a search for its title.
    list_select_related = ["viewing", "slot"]
    # At a million bookings an exact count is a pass over the table on every page view:
    # count up to a bound (bookings/pagination.py), and not a second time for the
    # unfiltered total.
    paginator = BoundedCountPaginator
    show_full_result_count = False
    # Names match without their accents ("bjorn" finds "Björn"): see search_text_without_accents.
    search_fields = [
        "first_name__unaccent",
        "last_name__unaccent",
        "email",
        "phone",
        "provider_reference",
        "viewing__title__unaccent",
    ]
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
    actions = [
        delivery_action(engine.send_now, _("Send now")),
        delivery_action(engine.resend, _("Re-send")),
        delivery_action(engine.cancel, _("Cancel")),
        delivery_action(
            engine.mark_delivered, _("Mark as delivered (checked in the broker system)")
        ),
    ]

    @admin.display(description=_("status"), ordering="status")
    def coloured_status(self, booking):
        """The status, coloured (in bookings/admin.css: the Content-Security-Policy refuses
        inline style), over the attempts so far, when retrying the next one's time, and the
        last error in brief."""
        details = ngettext("%(count)s attempt", "%(count)s attempts", booking.attempt_count) % {
            "count": booking.attempt_count
        }
        if booking.status == Booking.Status.RETRYING and booking.next_attempt_at:
            details += ", " + _("next %(time)s") % {"time": short_time(booking.next_attempt_at)}
        return format_html(
            '<strong class="booking-status {}">{}</strong><br><span class="quiet">{}</span>'
            '<br><span class="booking-error">{}</span>',
            booking.status,
            booking.get_status_display(),
            details,
            in_brief(self.last_error(booking)),
        )

    @admin.display(description=_("buyer"), ordering="last_name")
    def buyer(self, booking):
        return format_html(
            '{} {}<br><span class="quiet">{}</span>',
            booking.first_name,
            booking.last_name,
            booking.email,
        )

    @admin.display(description=_("viewing"), ordering="viewing__starts_at")
    def viewing_and_time(self, booking):
        starts_at = booking.slot.starts_at if booking.slot_id else booking.viewing.starts_at
        return format_html(
            '{}<br><span class="quiet">{}</span>',
            booking.viewing.title,
            short_time(starts_at),
        )

    @admin.display(description=_("last error"))
    def last_error(self, booking):
        return problem_text(booking.last_problem)

    @admin.display(description=_("received"), ordering="created_at")
    def received(self, booking):
        return format_html("{}<br>{}", *short_time(booking.created_at).split(" "))

    def get_search_results(self, request, queryset, search_term):
        # The names are compared without accents (UNACCENT in SQL), so the term is too.
        return super().get_search_results(request, queryset, without_accents(search_term))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "slot":
            kwargs["queryset"] = ViewingSlot.objects.for_user(request.user).select_related(
                "viewing"
            )
            kwargs["form_class"] = SlotChoiceField
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        readonly = [*super().get_readonly_fields(request, obj), "source"]
        if obj is not None and obj.status in (Booking.Status.SENDING, Booking.Status.DELIVERED):
            # What the broker system has (or is getting) must stay what we show.
            readonly += BUYER_FIELDS
        return readonly

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except ValidationError as error:
            # The form found no live booking like this one, but one was saved since:
            # show staff the bookings under that email, the new one among them.
            if getattr(error, "code", None) != DUPLICATE_BOOKING:
                raise
        self.message_user(request, DUPLICATE_BOOKING_ERROR, messages.ERROR)
        search = urlencode({"q": request.POST.get("email", "").strip().lower()})
        return redirect(f"{reverse('admin:bookings_booking_changelist')}?{search}")

    def save_model(self, request, obj, form, change):
        if change:
            # Only what staff changed: a worker may have moved the delivery state meanwhile.
            obj.save(update_fields=[*form.changed_data, "updated_at"])
        else:
            accept_booking(obj)  # new bookings go through intake: saved queued, then delivered


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyRecordAdmin):
    list_display = ["booking", "started_at", "endpoint", "http_status", "outcome", "duration_ms"]
    list_filter = ["outcome", "http_status"]
    list_select_related = ["booking"]
    search_fields = ["booking__email", "endpoint"]


@admin.register(QuarantineDecision)
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


@admin.register(IdempotentRequest)
class IdempotentRequestAdmin(ReadOnlyRecordAdmin):
    list_display = ["key", "api_key", "response_status", "created_at"]
    list_select_related = ["api_key"]
    search_fields = ["key"]
