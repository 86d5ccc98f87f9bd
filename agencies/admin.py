import logging
import traceback

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import get_fields_from_path
from django.http import Http404
from django.template.response import TemplateResponse
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency, ApiKey, Membership, ProviderCredential
from agencies.problems import problem_text
from bookings.delivery.engine import check_credential
from bookings.delivery.redaction import credential_secrets, redact

logger = logging.getLogger(__name__)


class AgencyScopedAdmin(admin.ModelAdmin):
    """A ModelAdmin that shows a user only what belongs to their agencies.

    The model's manager provides `for_user()` (see AgencyScopedQuerySet). Superusers see
    everything; members see and edit their agencies' objects; changing an agency's own set-up
    (`admin_only`) needs the administrator role. Objects outside the user's agencies
    answer 404, as if they did not exist.
    """

    admin_only = False

    def user_agencies(self, request, *, admin_role=False):
        if request.user.is_superuser:
            return Agency.objects.all()
        ids = self.administered_ids(request) if admin_role else self.agency_roles(request)
        return Agency.objects.filter(pk__in=ids)

    def changeable(self, request, queryset):
        """The objects of `queryset` this user may change: for an agency's own set-up
        (`admin_only`), only those of the agencies they administer."""
        if request.user.is_superuser or not self.admin_only:
            return queryset
        agency_field = "pk" if self.model is Agency else "agency"
        return queryset.filter(**{f"{agency_field}__in": self.administered_ids(request)})

    def get_queryset(self, request):
        return super().get_queryset(request).for_user(request.user)

    def get_list_filter(self, request):
        # A related-field filter would list every agency's objects; offer only those in
        # the user's own rows.
        return [self.scoped_list_filter(name) for name in super().get_list_filter(request)]

    def scoped_list_filter(self, list_filter):
        if isinstance(list_filter, str) and (
            get_fields_from_path(self.model, list_filter)[-1].is_relation
        ):
            return (list_filter, admin.RelatedOnlyFieldListFilter)
        return list_filter

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        # An object stays with the agency it was created for.
        has_agency = any(field.name == "agency" for field in self.model._meta.fields)
        return [*readonly, "agency"] if obj is not None and has_agency else readonly

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(_("No such object, or it belongs to another agency."))
        return obj

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if related is Agency:
            kwargs["queryset"] = self.user_agencies(request, admin_role=self.admin_only)
        elif hasattr(related.objects, "for_user"):
            kwargs["queryset"] = related.objects.for_user(request.user)
        elif not request.user.is_superuser:
            kwargs["queryset"] = related.objects.none()  # e.g. users: not one agency's
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def agency_roles(self, request) -> dict[int, str]:
        """The user's agencies and roles, looked up once per request: the sidebar asks
        every registered admin for its permissions."""
        if not hasattr(request, "agency_roles"):
            request.agency_roles = dict(request.user.memberships.values_list("agency_id", "role"))
        return request.agency_roles

    def is_member(self, request) -> bool:
        user = request.user
        return (
            user.is_active
            and user.is_staff
            and (user.is_superuser or bool(self.agency_roles(request)))
        )

    def administered_ids(self, request) -> set[int]:
        return {
            agency_id
            for agency_id, role in self.agency_roles(request).items()
            if role == Membership.Role.ADMIN
        }

    def may_change(self, request, obj=None) -> bool:
        if request.user.is_superuser:
            return True
        if not self.admin_only:
            return self.is_member(request)
        administered = self.administered_ids(request)
        if obj is None:
            return bool(administered)
        return (obj.pk if isinstance(obj, Agency) else obj.agency_id) in administered

    # Membership is the permission: no per-model Django permissions to hand out.
    def has_module_permission(self, request):
        return self.is_member(request)

    def has_view_permission(self, request, obj=None):
        return self.is_member(request)

    def has_add_permission(self, request):
        return self.may_change(request)

    def has_change_permission(self, request, obj=None):
        return self.may_change(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.may_change(request, obj)


class AgencyScopedInline(admin.TabularInline):
    """An inline on an AgencyScopedAdmin page: that admin's membership rules, not model
    permissions, decide what its users may do with the rows."""

    def parent_admin(self):
        return self.admin_site.get_model_admin(self.parent_model)

    def has_view_permission(self, request, obj=None):
        return self.parent_admin().has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return self.parent_admin().has_change_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self.parent_admin().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.parent_admin().has_change_permission(request, obj)


class ReadOnlyRecordAdmin(AgencyScopedAdmin):
    """A record of what happened (delivery attempts, API replies): never edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Agency)
class AgencyAdmin(AgencyScopedAdmin):
    admin_only = True
    list_display = ["name", "slug", "broker_system", "phone_region", "is_active"]
    list_filter = ["broker_system", "is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


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
    list_display = ["agency", "base_url", "username", "status", "status_changed_at"]
    list_filter = ["status", "agency__broker_system"]
    list_select_related = ["agency"]
    search_fields = ["agency__name", "username", "base_url"]
    readonly_fields = ["secret_state", "status", "status_detail", "status_changed_at"]
    fieldsets = [
        (None, {"fields": ["agency", "base_url", "username", "secret", "secret_state"]}),
        (
            _("Vitec Express"),
            {
                "fields": VITEC_FIELDS,
                "description": _("Booking defaults sent with every Vitec participant."),
            },
        ),
        (_("Status"), {"fields": ["status", "status_detail", "status_changed_at"]}),
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

    @admin.display(description=_("Stored secret"))
    def secret_state(self, credential):
        if not credential.secret:
            return gettext("Not set")
        if credential.secret_changed_at is None:
            return gettext("Set")
        changed_at = date_format(localtime(credential.secret_changed_at), "DATETIME_FORMAT")
        return gettext("Set, last changed %(changed_at)s") % {"changed_at": changed_at}

    @admin.action(description=_("Test connection"), permissions=["change"])
    def test_connection(self, request, queryset):
        for credential in self.changeable(request, queryset).select_related("agency"):
            try:
                check = check_credential(credential)
            except Exception:
                # Whatever the client raised, the page answers; the log gets the details
                # with the secret masked.
                secrets = credential_secrets(credential.username, credential.secret)
                logger.error(
                    "Testing the connection of %r failed:\n%s",
                    credential,
                    redact(traceback.format_exc(), secrets),
                )
                message = gettext(
                    "%(agency)s: the connection could not be tested because of an unexpected "
                    "error; it has been logged. Check the base URL, user name and secret."
                ) % {"agency": credential.agency}
                self.message_user(request, message, messages.ERROR)
                continue
            level = {True: messages.SUCCESS, False: messages.ERROR}.get(check.ok, messages.WARNING)
            self.message_user(request, f"{credential.agency}: {check.message}", level)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Who works on which agency: the tenancy itself, so only superusers manage it."""

    list_display = ["user", "agency", "role"]
    list_filter = ["role", "agency"]
    list_select_related = ["user", "agency"]
    search_fields = ["user__username", "user__email", "agency__name"]
    autocomplete_fields = ["user"]

    def has_module_permission(self, request):
        return request.user.is_superuser


@admin.register(ApiKey)
class ApiKeyAdmin(AgencyScopedAdmin):
    """Keys are created here and shown once, on the page after saving; only the hash is
    kept. Revoking is an action, so a revoked key stays listed with its history."""

    admin_only = True
    list_display = ["name", "agency", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["agency"]
    list_select_related = ["agency"]
    search_fields = ["name", "prefix", "agency__name"]
    fields = ["agency", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke_keys"]

    def save_model(self, request, obj, form, change):
        if not change:
            request.issued_api_key = obj.generate_key()
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        # Shown on this one response and never again: not in a message cookie or session.
        return TemplateResponse(
            request,
            "admin/agencies/apikey/issued.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "api_key": obj,
                "raw_key": request.issued_api_key,
                "title": _("API key created"),
            },
        )

    @admin.action(description=_("Revoke selected API keys"), permissions=["change"])
    def revoke_keys(self, request, queryset):
        revoked = self.changeable(request, queryset).revoke()
        self.message_user(
            request,
            ngettext("Revoked %(count)d key.", "Revoked %(count)d keys.", revoked)
            % {"count": revoked},
            messages.SUCCESS,
        )
