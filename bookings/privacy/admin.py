"""The admin's door to data-subject requests (bookings/privacy/subject.py does the work):
the record of requests carried out, and the page where an agency administrator or a
superuser looks a buyer up by email, downloads their data or erases it."""

import io
from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from agencies.admin import ReadOnlyRecordAdmin, to_the_second
from bookings.privacy import subject
from bookings.providers import booking_field_errors

DOWNLOADS = {
    "export_json": (subject.write_json, "application/json", "json"),
    "export_csv": (subject.write_csv, "text/csv; charset=utf-8", "csv"),
}


# What an erasure's record counts besides the rows (subject.erase).
ERASURE_COUNTS = {
    "cancelled": _("cancelled first"),
    "being_sent": _("left while being sent"),
}


class BuyerLookupForm(forms.Form):
    email = forms.EmailField(label=_("Buyer's email"), max_length=254)


class EraseForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand that erasing cannot be undone."), required=True
    )


class DataRequestAdmin(ReadOnlyRecordAdmin):
    """Only agency administrators and superusers: a buyer's data is the agency's to give
    out or erase, and an administrator of one agency reaches only that agency's rows."""

    change_list_template = "admin/bookings/datarequest/change_list.html"
    list_display = ["performed_at", "kind", "agency", "performed_by", "channel", "rows"]
    fields = ["performed_at", "kind", "agency", "performed_by", "channel", "rows", "email_digest"]
    readonly_fields = fields
    list_filter = ["kind", "channel", "agency"]
    list_select_related = ["agency", "performed_by"]

    @admin.display(description=_("rows"))
    def rows(self, data_request):
        """How many rows of each kind, by the kinds' names."""
        return ", ".join(
            f"{label} {data_request.counts[kind]}"
            for kind, label in {**subject.KINDS, **ERASURE_COUNTS}.items()
            if kind in data_request.counts
        )

    def handles_requests(self, request) -> bool:
        return self.is_member(request) and (
            request.user.is_superuser or bool(self.administered_ids(request))
        )

    def has_module_permission(self, request):
        return self.handles_requests(request)

    def has_view_permission(self, request, obj=None):
        return self.handles_requests(request)

    def get_queryset(self, request):
        agencies = subject.agencies_for_admin(request.user)
        return super().get_queryset(request).filter(agency__in=agencies)

    def get_urls(self):
        view = self.admin_site.admin_view(self.buyer_view)
        return [path("buyer/", view, name="bookings_datarequest_buyer"), *super().get_urls()]

    def buyer_view(self, request):
        if not self.handles_requests(request):
            raise PermissionDenied
        lookup = BuyerLookupForm(request.POST if request.method == "POST" else request.GET or None)
        erase_form = EraseForm()
        data = None
        if lookup.is_valid():
            agencies = subject.agencies_for_admin(request.user)
            data = subject.BuyerData(lookup.cleaned_data["email"], agencies)
            action = request.POST.get("action")
            if action in DOWNLOADS:
                return self.download(request, data, *DOWNLOADS[action])
            if action == "erase":
                erase_form = EraseForm(request.POST)
                if erase_form.is_valid():
                    return self.erase(request, data)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Look up a buyer's data"),
            "lookup": lookup,
            "erase_form": erase_form,
            "tables": data and self.tables(data),
            "counts": data and self.counts(data),
        }
        return TemplateResponse(request, "admin/bookings/datarequest/buyer.html", context)

    def tables(self, data: subject.BuyerData) -> list[dict]:
        """Each kind's records, each as its fields and their values in words (the
        downloads keep the stored values)."""
        return [
            {
                "label": label,
                "records": [
                    [
                        (subject.field_label(kind, name), readable(record, name))
                        for name in subject.FIELDS[kind]
                    ]
                    for record in data.rows(kind).order_by("pk")
                ],
            }
            for kind, label in subject.KINDS.items()
        ]

    def counts(self, data: subject.BuyerData) -> list[tuple]:
        """Per agency, how many rows of each kind, as (agency, [(kind's label, count)])."""
        return [
            (agency, [(label, agency_counts[kind]) for kind, label in subject.KINDS.items()])
            for agency, agency_counts in data.counts_by_agency().items()
        ]

    def download(self, request, data, write, content_type, extension) -> HttpResponse:
        out = io.StringIO()
        write(out, data)
        subject.record_export(data, user=request.user)
        response = HttpResponse(out.getvalue(), content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="buyer-data.{extension}"'
        return response

    def erase(self, request, data):
        counts = subject.erase(data, user=request.user)
        for agency, agency_counts in counts.items():
            self.message_user(
                request,
                _("%(agency)s: bookings erased: %(bookings)d (cancelled first: %(cancelled)d).")
                % {
                    "agency": agency,
                    "bookings": agency_counts["bookings"] - agency_counts["being_sent"],
                    "cancelled": agency_counts["cancelled"],
                },
                messages.SUCCESS,
            )
            if agency_counts["being_sent"]:
                self.message_user(
                    request,
                    _(
                        "%(agency)s: bookings being sent right now, left as they are: "
                        "%(count)d. Erase again in a minute."
                    )
                    % {"agency": agency, "count": agency_counts["being_sent"]},
                    messages.WARNING,
                )
        if not counts:
            self.message_user(request, _("Nothing is stored under this email."), messages.INFO)
        return redirect(reverse("admin:bookings_datarequest_changelist"))


def readable(record, name: str) -> str:
    """A stored value as staff read it in their language: a choice by its label, a time
    to the second, a booking's field errors by its fields, a log entry's change in words,
    an attempt's answer or its absence."""
    field = record._meta.get_field(name)
    value = getattr(record, field.attname)
    if name == "provider_errors":
        return "; ".join(
            f"{capfirst(field_name_label(record, field_name))}: {' '.join(texts)}"
            for field_name, texts in booking_field_errors(record).items()
        )
    if name == "response_excerpt":
        return record.answer
    if name == "change_message":
        return record.get_change_message()
    if name == "response_body":  # the intake API's answer names the booking it made
        booking_id = value.get("id") if isinstance(value, dict) else None
        return gettext("Booking %(id)s") % {"id": booking_id} if booking_id else ""
    if value is None or value == "":
        return ""
    if field.choices:
        return getattr(record, f"get_{name}_display")()
    if isinstance(value, datetime):
        return to_the_second(value)
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    return str(value)


def field_name_label(record, name: str) -> str:
    """A booking field's label, or the provider's own name for a field we do not have."""
    try:
        return str(record._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:  # the provider's name is all there is
        return name
