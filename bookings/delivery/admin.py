"""The broker-system credential's admin page. It lives with delivery, not in `agencies`,
because saving and testing a credential drive the credential lifecycle
(bookings/delivery/credentials.py): `agencies` imports nothing from `bookings`."""

import logging
import traceback

from django import forms
from django.contrib import admin, messages
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from agencies.admin import AgencyScopedAdmin
from agencies.models import ProviderCredential
from agencies.problems import problem_text
from bookings.delivery.credentials import check_credential, save_credential
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


class ProviderCredentialForm(forms.ModelForm):
    # Write-only: the stored secret is never sent back to the browser.
    secret = forms.CharField(
        label=_("Secret"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "Stored encrypted and never shown. Leave empty to keep the current one, unless "
            "the base URL, user name or customer id changes."
        ),
    )

    class Meta:
        model = ProviderCredential
        fields = ["agency", "base_url", "username", "secret", *VITEC_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The stored secret is never the form's initial value: not in the page, and "changed"
        # only when one is entered.
        self.initial.pop("secret", None)

    def clean_secret(self):
        secret = self.cleaned_data["secret"]
        if not secret and self.instance._state.adding:
            raise forms.ValidationError(_("Enter the secret for the broker system."))
        return secret

    def clean(self):
        cleaned_data = super().clean()
        if not cleaned_data.get("secret"):
            # Left empty: the stored secret is kept, not entered again, so the model refuses
            # it for a changed address or login (ProviderCredential.clean).
            cleaned_data.pop("secret", None)
        return cleaned_data


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(AgencyScopedAdmin):
    admin_only = True
    form = ProviderCredentialForm
    list_display = ["agency", "base_url", "username", "status", "circuit_open", "status_changed_at"]
    list_filter = ["status", "agency__broker_system"]
    list_select_related = ["agency"]
    search_fields = ["agency__name", "username", "base_url"]
    readonly_fields = ["secret_state", "status", "status_detail", "status_changed_at", "circuit"]
    fieldsets = [
        (None, {"fields": ["agency", "base_url", "username", "secret", "secret_state"]}),
        (
            _("Vitec Express"),
            {
                "fields": VITEC_FIELDS,
                "description": _("Booking defaults sent with every Vitec participant."),
            },
        ),
        (_("Status"), {"fields": ["status", "status_detail", "status_changed_at", "circuit"]}),
    ]
    actions = ["test_connection"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if self.has_change_permission(request, obj):
            return fieldsets
        # A read-only page shows every field's value: the secret only as its state.
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "secret"]})
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

    def save_model(self, request, obj, form, change):
        save_credential(obj)

    @admin.action(description=_("Test connection"), permissions=["change"])
    def test_connection(self, request, queryset):
        for credential in self.changeable(request, queryset).select_related("agency"):
            try:
                check = check_credential(credential)
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
                continue
            level = {True: messages.SUCCESS, False: messages.ERROR}.get(check.ok, messages.WARNING)
            self.message_user(request, f"{credential.agency}: {check.message}", level)
