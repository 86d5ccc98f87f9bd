"""The bookings: the list staff work from, a booking's page with its actions, adding one
for a buyer, and re-sending an agency's failed or held bookings."""

from dataclasses import replace
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from agencies.admin import AgencyScopedAdmin
from agencies.problems import problem_text
from bookings.admin.attempts import DeliveryAttemptInline
from bookings.admin.booking_actions import (
    BOOKING_ACTIONS,
    BookingAction,
    bulk_action,
    confirm_action_page,
    refuse_delivered,
)
from bookings.audit import By, Door, timeline
from bookings.consent import record_staff_entry
from bookings.delivery import staff_actions
from bookings.intake.service import accept_booking
from bookings.intake.validators import validate_public_email_domain
from bookings.models import (
    DUPLICATE_BOOKING,
    DUPLICATE_BOOKING_ERROR,
    Booking,
    Viewing,
)
from bookings.pagination import BoundedCountPaginator
from bookings.providers import CLIENT_CLASSES
from bookings.search import without_accents


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


class ReplayForm(forms.Form):
    """Which agency's failed or held bookings to re-send, received since when."""

    agency = forms.ModelChoiceField(queryset=None, label=_("agency"))
    since = forms.DateTimeField(
        label=_("received since"),
        help_text=_("Date and time, e.g. 2026-11-27 22:00."),
    )

    def __init__(self, *args, agencies, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = agencies

    def clean_since(self):
        # ISO parsing takes any character between date and time, a NUL byte too.
        if "\x00" in self.data.get("since", ""):
            raise forms.ValidationError(_("Null characters are not allowed."))
        return self.cleaned_data["since"]


BUYER_FIELDS = [
    "viewing",
    "slot",
    "first_name",
    "last_name",
    "email",
    "phone",
    "message",
]
# The consent record: written once by intake (bookings/consent.py), shown, never edited.
CONSENT_RECORD = [
    "consent_given_at",
    "consent_text_version",
    "consent_api_key",
    "entered_by",
]
# Chosen by staff entering a booking; what the buyer agreed to stays as entered.
CHOSEN_AT_ENTRY = ["language", "lawful_basis"]


class BookingForm(forms.ModelForm):
    """The booking form; on a rejected booking's page it shows the provider's field
    errors beside the fields they concern until staff save it."""

    broker_field_errors: dict[str, list[str]] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "email" in self.fields:  # not when read-only
            self.fields["email"].validators.append(validate_public_email_domain)

    def full_clean(self):
        super().full_clean()
        if not self.is_bound:
            for name, texts in self.broker_field_errors.items():
                if name in self.fields:
                    self._errors.setdefault(name, self.error_class()).extend(texts)
        elif self.has_error(NON_FIELD_ERRORS, DUPLICATE_BOOKING):
            existing = self.instance.live_duplicate()
            if existing is not None:
                # Staff change a buyer's time by moving the booking they have.
                self.add_error(
                    None,
                    gettext(
                        "This buyer's booking is number %(id)s (%(time)s): change its slot "
                        "there to move it to another time."
                    )
                    % {"id": existing.pk, "time": existing.slot or existing.viewing},
                )


class IdAutocompleteSelect(AutocompleteSelect):
    """Shows a value sent back that is no id (`viewing=abc`) as nothing chosen, beside the
    field's error, where the admin's widget would look it up and fail."""

    def optgroups(self, name, value, attr=None):
        return super().optgroups(name, [v for v in value if str(v).isdigit()], attr)


class ViewingChoiceForm(forms.Form):
    """The first step of adding a booking: which viewing (its slots are then offered)."""

    viewing = forms.ModelChoiceField(queryset=Viewing.objects.none(), label=_("viewing"))

    def __init__(self, *args, viewings, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["viewing"].queryset = viewings


class BookingAdmin(AgencyScopedAdmin):
    class Media:
        css = {"all": ["bookings/admin.css"]}

    # Status first, with why (attempts, last error); four columns beside the admin's
    # navigation and the filters fit a window 1280 px wide (tests/test_browser_cockpit.py).
    form = BookingForm
    change_form_template = "admin/bookings/booking/change_form.html"
    list_display = [
        "coloured_status",
        "buyer",
        "viewing_and_time",
        "received",
    ]
    list_display_links = ["buyer"]
    list_filter = [
        "status",
        "cancellation_requested_at",
        ("created_at", admin.DateFieldListFilter),
        ViewingTimeFilter,
        "source",
        "viewing__agency",
        "viewing__agency__provider",
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
        "coloured_status",
        *CONSENT_RECORD,
        "cancellation_requested_at",
        "receipt_sent_at",
        "buyer_notified_at",
        "buyer_corrected_at",
        "attempt_count",
        "next_attempt_at",
        "last_error",
        "provider_reference",
        "created_at",
        "updated_at",
        "delivered_at",
    ]
    fieldsets = [
        (
            _("Delivery"),
            {
                "fields": [
                    ("coloured_status", "attempt_count", "next_attempt_at"),
                    ("receipt_sent_at", "buyer_notified_at", "buyer_corrected_at"),
                    "cancellation_requested_at",
                    "last_error",
                    "provider_reference",
                    ("created_at", "updated_at", "delivered_at"),
                ]
            },
        ),
        (
            _("Buyer"),
            {
                "fields": [
                    "viewing",
                    "slot",
                    ("first_name", "last_name"),
                    ("email", "phone"),
                    "message",
                ]
            },
        ),
        (
            _("Consent"),
            {
                "fields": [
                    ("source", "language"),
                    "lawful_basis",
                    ("consent_given_at", "consent_text_version"),
                    ("consent_api_key", "entered_by"),
                ]
            },
        ),
    ]
    inlines = [DeliveryAttemptInline]
    actions = [bulk_action(action) for action in BOOKING_ACTIONS.values()]

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

    # --- the booking's page: its actions ------------------------------------------------

    def get_urls(self):
        return [
            path(
                "replay/",
                self.admin_site.admin_view(self.replay_view),
                name="bookings_booking_replay",
            ),
            path(
                "<path:object_id>/act/<str:action_name>/",
                self.admin_site.admin_view(self.booking_action_view),
                name="bookings_booking_act",
            ),
            *super().get_urls(),
        ]

    def actions_fitting(self, request, booking) -> list[BookingAction]:
        if booking is None or not self.has_change_permission(request, booking):
            return []
        return [action for action in BOOKING_ACTIONS.values() if action.fits(booking)]

    def booking_action_view(self, request, object_id, action_name):
        """One staff action on one booking, from the button on its page: a confirmation
        page first where it matters, then back to the booking with what happened."""
        booking = self.get_object(request, unquote(object_id))
        action = BOOKING_ACTIONS.get(action_name)
        if action is None:
            raise Http404
        if not self.has_change_permission(request, booking):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if action.confirm and not request.POST.get("post"):
            return confirm_action_page(self, request, action, [booking], form_url=request.path)
        result = action.run(Booking.objects.filter(pk=booking.pk), By(request.user, Door.PAGE))
        self.message_user(
            request,
            format_html(
                '<a href="{}">{}</a>: {}',
                reverse("admin:bookings_booking_change", args=[booking.pk]),
                booking,
                result.message,
            ),
            messages.WARNING if result.skipped else messages.SUCCESS,
        )
        return redirect("admin:bookings_booking_change", booking.pk)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["booking_actions"] = self.actions_fitting(request, obj)
        context["timeline"] = obj and timeline(obj)
        context["can_save_and_resend"] = (
            obj is not None
            and obj.status == Booking.Status.REJECTED
            and self.has_change_permission(request, obj)
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if obj is not None and obj.status == Booking.Status.REJECTED and obj.provider_errors:
            form.broker_field_errors = provider_field_errors(obj)
        return form

    def response_change(self, request, obj):
        if "_save_and_resend" in request.POST:
            result = staff_actions.resend(
                Booking.objects.filter(pk=obj.pk), By(request.user, Door.SAVE_AND_RESEND)
            )
            self.message_user(
                request,
                format_html(
                    '<a href="{}">{}</a>: {} {}',
                    reverse("admin:bookings_booking_change", args=[obj.pk]),
                    obj,
                    gettext("Saved."),
                    result.message,
                ),
                messages.WARNING if result.skipped else messages.SUCCESS,
            )
            return redirect("admin:bookings_booking_change", obj.pk)
        return super().response_change(request, obj)

    # --- adding: choose the viewing first, then the form offers its slots ---------------
    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "lawful_basis":
            # Staff enter a booking because the buyer asked; they say how.
            kwargs["choices"] = [("", "---------"), *Booking.LawfulBasis.staff_choices()]
            kwargs["required"] = True
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def add_view(self, request, form_url="", extra_context=None):
        viewings = Viewing.objects.for_user(request.user)
        if request.method == "GET" and not self.viewing_of_request(request):
            # A chosen viewing comes back as ?viewing=<id> and goes on to the form; here
            # only a missing or malformed one, shown as the field's error.
            chooser = ViewingChoiceForm(request.GET or None, viewings=viewings.bookable())
            chooser.is_valid()
            return TemplateResponse(
                request,
                "admin/bookings/booking/choose_viewing.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("Add booking: choose the viewing"),
                    "opts": self.model._meta,
                    "form": chooser,
                },
            )
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

    @staticmethod
    def viewing_of_request(request) -> str:
        """The viewing chosen for a new booking, as sent (checked by the form)."""
        value = request.POST.get("viewing") or request.GET.get("viewing") or ""
        return value if value.isdigit() else ""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "viewing":
            kwargs["widget"] = IdAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        if db_field.name != "slot":
            return super().formfield_for_foreignkey(db_field, request, **kwargs)
        field = super().formfield_for_foreignkey(
            db_field, request, form_class=SlotChoiceField, **kwargs
        )
        # Only the slots of the chosen viewing (a new booking) or of the booking's own.
        slots = field.queryset.select_related("viewing")
        viewing = self.viewing_of_request(request)
        object_id = request.resolver_match.kwargs.get("object_id")
        if viewing:
            slots = slots.filter(viewing=viewing)
        elif object_id:
            slots = slots.filter(viewing__bookings__pk=unquote(object_id))
        field.queryset = slots
        return field

    def get_readonly_fields(self, request, obj=None):
        readonly = [*super().get_readonly_fields(request, obj), "source"]
        if obj is not None:
            readonly += CHOSEN_AT_ENTRY
        if obj is not None and obj.status in Booking.Status.with_the_provider():
            # What the provider has (or is getting) must stay what we show.
            readonly += BUYER_FIELDS
        return readonly

    # --- deleting: never a delivered booking ----------------------------------------------

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status == Booking.Status.DELIVERED:
            # It is in the provider; erasing the buyer's data has its own audited tool.
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request, action_location=admin.ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        if "delete_selected" in actions:
            delete_selected = actions["delete_selected"]
            actions["delete_selected"] = replace(
                delete_selected, func=refuse_delivered(delete_selected.func)
            )
        return actions

    def changelist_view(self, request, extra_context=None):
        extra_context = {"may_replay": self.has_change_permission(request), **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def replay_view(self, request):
        """Re-send every failed or held booking of one agency received since a time: the form,
        then a confirmation with the count, then staff_actions.replay. Whoever may re-send a single
        booking (any member of the agency, superusers) may replay the agency's."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        agencies = self.user_agencies(request)
        initial = {"since": timezone.localtime() - timedelta(days=1)}
        form = ReplayForm(request.POST or None, agencies=agencies, initial=initial)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Re-send failed and held bookings"),
            "opts": self.model._meta,
            "form": form,
        }
        if request.method == "POST" and form.is_valid():
            agency, since = form.cleaned_data["agency"], form.cleaned_data["since"]
            if request.POST.get("confirm"):
                result = staff_actions.replay(agency, since, request.user)
                level = messages.WARNING if result.skipped else messages.SUCCESS
                self.message_user(request, f"{agency}: {result.message}", level)
                query = urlencode({"viewing__agency__id__exact": agency.pk})
                return redirect(f"{reverse('admin:bookings_booking_changelist')}?{query}")
            count = staff_actions.replayable(agency, since).count()
            context |= {
                "agency": agency,
                "since": since,
                "count": count,
                "question": ngettext(
                    "Re-send %(count)d failed or held booking of %(agency)s?",
                    "Re-send %(count)d failed or held bookings of %(agency)s?",
                    count,
                )
                % {"count": count, "agency": agency},
            }
        return TemplateResponse(request, "admin/bookings/booking/replay.html", context)

    def save_model(self, request, obj, form, change):
        if change:
            # Only what staff changed: a worker may have moved the delivery state meanwhile.
            obj.save(update_fields=[*form.changed_data, "updated_at"])
        else:
            record_staff_entry(obj, request.user, obj.lawful_basis)
            accept_booking(obj)  # new bookings go through intake: saved queued, then delivered


def provider_field_errors(booking: Booking) -> dict[str, list[str]]:
    """The provider's field errors of a rejected booking, by the booking's fields."""
    client_class = CLIENT_CLASSES[booking.viewing.agency.provider]
    return client_class.errors_by_booking_field(booking.provider_errors)
