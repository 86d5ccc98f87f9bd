"""The provider credential's admin page. It lives with delivery, not in `agencies`,
because saving and testing a credential drive the credential lifecycle
(bookings/delivery/credentials.py): `agencies` imports nothing from `bookings`."""

import logging
import traceback

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from agencies.admin import AgencyScopedAdmin
from agencies.models import ProviderCredential
from agencies.problems import problem_text
from bookings.audit import By, Door
from bookings.delivery.credentials import check_credential, provider_errors, save_credential
from bookings.delivery.redaction import redact_answer

logger = logging.getLogger(__name__)

VITEC_FIELDS = [
    "vitec_customer_id",
    "vitec_lead_source_id",
    "vitec_mail_confirmation",
    "vitec_sms_confirmation",
    "vitec_sms_reminder",
    "vitec_reminder_minutes",
    "vitec_deadline_validation",
    "vitec_booking_limit_validation",
]


# Write-only fields: never sent back to the browser; left empty, the stored value stays.
WRITE_ONLY_FIELDS = ["secret"]
# Choices a post may leave out (a form from before the choice existed, a script): the
# stored choice stays.
CHOICES_KEPT_WHEN_NOT_SENT = ["auth_scheme", "mspecs_api"]


def write_only_field(label, help_text) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=help_text,
    )


class ProviderCredentialForm(forms.ModelForm):
    secret = write_only_field(
        _("Secret"),
        _(
            "Password or access token. Stored encrypted and never shown. Leave empty to keep "
            "the current one, unless the base URL, authentication, user name, customer id or "
            "subscriber id changes."
        ),
    )

    class Meta:
        model = ProviderCredential
        fields = [
            "agency",
            "base_url",
            "auth_scheme",
            "username",
            "secret",
            "mspecs_api",
            "mspecs_subscriber_id",
            *VITEC_FIELDS,
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A stored secret is never the form's initial value: not in the page, and "changed"
        # only when one is entered.
        for name in WRITE_ONLY_FIELDS:
            self.initial.pop(name, None)
        for name in CHOICES_KEPT_WHEN_NOT_SENT:
            if name in self.fields:  # not on a read-only page
                self.fields[name].required = False

    def clean_auth_scheme(self):
        return self.cleaned_data["auth_scheme"] or self.instance.auth_scheme

    def clean_mspecs_api(self):
        return self.cleaned_data["mspecs_api"] or self.instance.mspecs_api

    def clean_secret(self):
        secret = self.cleaned_data["secret"]
        if not secret and self.instance._state.adding:
            raise forms.ValidationError(_("Enter the secret for the broker system."))
        return secret

    def _post_clean(self):
        # After the model's own validation has filled in the credential: what its broker
        # system needs of it.
        super()._post_clean()
        if self.instance.agency_id is not None:
            for name, error in provider_errors(self.instance).items():
                self.add_error(name if name in self.fields else None, error)

    def clean(self):
        cleaned_data = super().clean()
        for name in WRITE_ONLY_FIELDS:
            if not cleaned_data.get(name):
                # Left empty: the stored value is kept, not entered again, so the model
                # refuses the secret for a changed address or login (ProviderCredential.clean).
                cleaned_data.pop(name, None)
        return cleaned_data


class ProviderCredentialAdmin(AgencyScopedAdmin):
    admin_only = True
    form = ProviderCredentialForm
    list_display = ["agency", "base_url", "username", "status", "circuit_open", "status_changed_at"]
    list_filter = ["status", "agency__provider"]
    list_select_related = ["agency"]
    search_fields = ["agency__name", "username", "base_url"]
    readonly_fields = [
        *("secret_state", "coloured_status", "status_detail", "status_changed_at"),
        *("tested_at", "updated_at", "circuit"),
    ]
    # Its state first: what staff come to this page to learn.
    fieldsets = [
        (
            _("Status"),
            {
                "fields": [
                    "coloured_status",
                    "status_detail",
                    ("status_changed_at", "tested_at", "updated_at"),
                    "circuit",
                ]
            },
        ),
        (
            None,
            {"fields": ["agency", "base_url", "auth_scheme", "username", "secret", "secret_state"]},
        ),
        (
            _("MSPECS"),
            {
                "fields": ["mspecs_api", "mspecs_subscriber_id"],
                "description": _(
                    "The subscriber id is sent as the subscriber-id header on every call, and "
                    "MSPECS's events about the agency's deals name it: that is how they reach "
                    "this agency."
                ),
            },
        ),
        (
            _("Vitec Express"),
            {
                "fields": VITEC_FIELDS,
                "description": _("Booking defaults sent with every Vitec participant."),
            },
        ),
    ]
    change_form_template = "admin/agencies/providercredential/change_form.html"
    actions = ["test_connection"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if self.has_change_permission(request, obj):
            return fieldsets
        # A read-only page shows every field's value: the secret only as its state.
        return [
            (
                name,
                {**options, "fields": [f for f in options["fields"] if f not in WRITE_ONLY_FIELDS]},
            )
            for name, options in fieldsets
        ]

    @admin.display(description=_("Status detail"))
    def status_detail(self, credential):
        return problem_text(credential.status_problem)

    @admin.display(description=_("circuit open"), boolean=True)
    def circuit_open(self, credential):
        return credential.circuit_is_open

    @admin.display(description=_("Circuit breaker"))
    def circuit(self, credential):
        if not credential.circuit_is_open:
            return gettext("Closed: deliveries go as usual.")
        return gettext("Open since %(opened)s: %(problem)s Next probe at %(probe)s.") % {
            "opened": date_format(localtime(credential.circuit_opened_at), "DATETIME_FORMAT"),
            "problem": problem_text(credential.circuit_problem),
            "probe": date_format(localtime(credential.circuit_next_probe_at), "DATETIME_FORMAT"),
        }

    @admin.display(description=_("Stored secret"))
    def secret_state(self, credential):
        if not credential.secret:
            return gettext("Not set")
        if credential.secret_changed_at is None:
            return gettext("Set")
        changed_at = date_format(localtime(credential.secret_changed_at), "DATETIME_FORMAT")
        return gettext("Set, last changed %(changed_at)s") % {"changed_at": changed_at}

    @admin.display(description=_("status"), ordering="status")
    def coloured_status(self, credential):
        return format_html(
            '<strong class="credential-status {}">{}</strong>',
            credential.status,
            credential.get_status_display(),
        )

    def save_model(self, request, obj, form, change):
        resumed = save_credential(obj)
        if resumed:
            self.message_user(
                request,
                ngettext(
                    "%(count)d held booking of %(agency)s queued to be sent again.",
                    "%(count)d held bookings of %(agency)s queued to be sent again.",
                    resumed,
                )
                % {"count": resumed, "agency": obj.agency},
                messages.SUCCESS,
            )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/test-connection/",
                self.admin_site.admin_view(self.test_connection_view),
                name="agencies_providercredential_test",
            ),
            *super().get_urls(),
        ]

    def test_connection_view(self, request, object_id):
        """Test connection, the button on the credential's page."""
        credential = self.get_object(request, unquote(object_id))
        if not self.has_change_permission(request, credential):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self.report_connection_test(request, credential)
        return redirect("admin:agencies_providercredential_change", credential.pk)

    @admin.action(description=_("Test connection"), permissions=["change"])
    def test_connection(self, request, queryset):
        for credential in self.changeable(request, queryset).select_related("agency"):
            self.report_connection_test(request, credential)

    def report_connection_test(self, request, credential):
        """Test the credential and say what the answer proves."""
        try:
            check = check_credential(credential, By(request.user, Door.CREDENTIAL_PAGE))
        except Exception:
            # Whatever the client raised, the page answers; the log gets the details
            # with the secret masked.
            logger.error(
                "Testing the connection of %r failed:\n%s",
                credential,
                redact_answer(traceback.format_exc(), credential),
            )
            message = gettext(
                "%(agency)s: the connection could not be tested because of an unexpected "
                "error; it has been logged. Check the base URL, user name and secret."
            ) % {"agency": credential.agency}
            self.message_user(request, message, messages.ERROR)
            return
        level = {True: messages.SUCCESS, False: messages.ERROR}.get(check.ok, messages.WARNING)
        self.message_user(request, f"{credential.agency}: {check.message}", level)
