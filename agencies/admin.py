from django.contrib import admin, messages
from django.contrib.admin.utils import get_fields_from_path
from django.forms import modelformset_factory
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency, ApiKey, Membership


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A related-field filter offering the user's own objects (their agencies, viewings...),
    read from the related table: unlike RelatedOnlyFieldListFilter it does not scan the
    listed rows for the values they use, which costs a pass over a large table."""

    def field_choices(self, field, request, model_admin):
        return [(obj.pk, str(obj)) for obj in field.related_model.objects.for_user(request.user)]


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
        if isinstance(list_filter, str):
            field = get_fields_from_path(self.model, list_filter)[-1]
            if field.is_relation and hasattr(field.related_model.objects, "for_user"):
                return (list_filter, ScopedRelatedFieldListFilter)
            if field.is_relation:
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


class ReadOnlyRecordInline(AgencyScopedInline):
    """A record of what happened, shown on its parent's page: never added, edited or deleted."""

    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Agency)
class AgencyAdmin(AgencyScopedAdmin):
    admin_only = True
    list_display = ["name", "slug", "provider", "phone_region", "is_active"]
    list_filter = ["provider", "is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


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

    def get_urls(self):
        return [
            path(
                "mine/",
                self.admin_site.admin_view(self.my_alerts_view),
                name="agencies_membership_mine",
            ),
            *super().get_urls(),
        ]

    def my_alerts_view(self, request):
        """Every user's own page: email alerts on or off and their language, per agency."""
        formset = MyAlertsFormSet(
            request.POST or None,
            queryset=Membership.objects.filter(user=request.user).select_related("agency"),
        )
        if request.method == "POST" and formset.is_valid():
            formset.save()
            self.message_user(request, gettext("Your email alert settings were saved."))
            return redirect("admin:agencies_membership_mine")
        return TemplateResponse(
            request,
            "admin/agencies/membership/mine.html",
            {
                **self.admin_site.each_context(request),
                "title": _("My email alerts"),
                "opts": self.model._meta,
                "formset": formset,
            },
        )


MyAlertsFormSet = modelformset_factory(
    Membership, fields=["email_alerts", "language"], extra=0, edit_only=True
)


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
