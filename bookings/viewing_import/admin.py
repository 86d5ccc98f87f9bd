"""The admin's "Import from provider" page (ViewingAdmin.get_urls): an agency
administrator (or a superuser) names a deal or estate, or picks it from the list the
agency's provider gives (`ProviderClient.list_sources`), and gets its viewings, each
with its public booking link to copy."""

from django import forms
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from agencies.problems import problem_text
from bookings.providers.base import SourceListing, SourceReadError
from bookings.viewing_import.service import (
    import_source,
    importable_sources,
    validate_source_id,
)


class ImportViewingsForm(forms.Form):
    agency = forms.ModelChoiceField(queryset=None, label=_("Agency"))
    source_id = forms.CharField(
        label=_("Deal or estate id"),
        required=False,
        validators=[validate_source_id],
        help_text=_("As the broker system shows it, or pick it from the agency's list."),
    )
    listed_source = forms.ChoiceField(label=_("Deal or estate"), required=False, choices=[])

    def __init__(self, *args, agencies, sources: list[SourceListing] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = agencies
        self.fields["listed_source"].choices = [
            ("", "—"),
            *((source.source_id, source.title) for source in sources),
        ]
        if not sources:
            del self.fields["listed_source"]

    def chosen_source_id(self) -> str:
        return self.cleaned_data.get("listed_source") or self.cleaned_data.get("source_id") or ""


def import_view(model_admin, request):
    """GET: the form; POST "list_sources": the agency's deals or estates to pick from;
    POST: import."""
    agencies = model_admin.user_agencies(request, admin_role=True).select_related("credential")
    if not agencies.exists():
        # Staff may book and follow bookings; setting up viewings is the administrator's.
        raise PermissionDenied
    data = request.POST if request.method == "POST" else None
    form = ImportViewingsForm(data, agencies=agencies)
    result = None
    if data is not None and form.is_valid():
        agency = form.cleaned_data["agency"]
        if "list_sources" in data or "listed_source" in data:
            # Listed, or picked from the list: the choices are what the list names now.
            sources = list_sources(form, agency)
            if sources:
                form = ImportViewingsForm(data, agencies=agencies, sources=sources)
                form.is_valid()
        if "list_sources" not in data:
            source_id = form.chosen_source_id()
            if not form.errors and not source_id:
                form.add_error("source_id", gettext("Enter a deal or estate id."))
            elif not form.errors:
                result = import_source(agency, source_id)
                if result.problem is not None:
                    form.add_error(None, problem_text(result.problem))
                    result = None
    links = []
    if result is not None:
        links = [
            (viewing, request.build_absolute_uri(reverse("booking-page", args=[viewing.public_id])))
            for viewing in result.viewings
        ]
    return TemplateResponse(
        request,
        "admin/bookings/viewing/import.html",
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.opts,
            "title": gettext("Import viewings from the broker system"),
            "form": form,
            "result": result,
            "links": links,
        },
    )


def list_sources(form: ImportViewingsForm, agency) -> list[SourceListing]:
    """The deals or estates the agency can import, or [] with the reason on the form."""
    try:
        sources = importable_sources(agency)
    except SourceReadError as error:
        form.add_error(None, problem_text(error.problem))
        return []
    if not sources:
        form.add_error(None, gettext("The broker system lists no deal or estate to import."))
    return sources
