"""The admin's "Import from broker system" page (ViewingAdmin.get_urls): an agency
administrator (or a superuser) names an MSPECS deal or a Vitec estate, or picks the estate
from Vitec's list, and gets its viewings, each with its public booking link to copy."""

from django import forms
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from agencies.models import BrokerSystem
from agencies.problems import problem_text
from bookings.delivery.redaction import redact_answer
from bookings.providers import client_for
from bookings.providers.base import SourceReadError
from bookings.viewing_import.service import import_source, validate_source_id


class ImportViewingsForm(forms.Form):
    agency = forms.ModelChoiceField(queryset=None, label=_("Agency"))
    source_id = forms.CharField(
        label=_("MSPECS deal id or Vitec estate id"),
        required=False,
        validators=[validate_source_id],
        help_text=_("As the broker system shows it. For Vitec, you may pick the estate instead."),
    )
    estate = forms.ChoiceField(label=_("Vitec estate"), required=False, choices=[])

    def __init__(self, *args, agencies, estates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = agencies
        self.fields["estate"].choices = [("", "—"), *((e.source_id, e.title) for e in estates)]
        if not estates:
            del self.fields["estate"]

    def chosen_source_id(self) -> str:
        return self.cleaned_data.get("estate") or self.cleaned_data.get("source_id") or ""


def import_view(model_admin, request):
    """GET: the form; POST "list_estates": Vitec's estates to pick from; POST: import."""
    agencies = model_admin.user_agencies(request, admin_role=True).select_related("credential")
    if not agencies.exists():
        # Staff may book and follow bookings; setting up viewings is the administrator's.
        raise PermissionDenied
    estates = []
    data = request.POST if request.method == "POST" else None
    form = ImportViewingsForm(data, agencies=agencies)
    result = None
    if data is not None and form.is_valid():
        agency = form.cleaned_data["agency"]
        if "list_estates" in data:
            estates = list_estates(form, agency)
            if estates:
                form = ImportViewingsForm(data, agencies=agencies, estates=estates)
                form.is_valid()
        else:
            if "estate" in data:  # picked from the list: the choices are the ids it names
                estates = list_estates(form, agency)
                form = ImportViewingsForm(data, agencies=agencies, estates=estates)
                form.is_valid()
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
            "offers_estate_list": agencies.filter(broker_system=BrokerSystem.VITEC).exists(),
        },
    )


def list_estates(form: ImportViewingsForm, agency) -> list:
    """Vitec's estates of the agency, or [] with the reason on the form."""
    if agency.broker_system != BrokerSystem.VITEC:
        form.add_error("agency", gettext("Only Vitec Express lists estates to pick from."))
        return []
    credential = getattr(agency, "credential", None)
    if credential is None:
        form.add_error("agency", gettext("The agency has no broker-system credential."))
        return []
    try:
        return client_for(credential).list_sources()
    except SourceReadError as error:
        form.add_error(None, problem_text(redact_answer(error.problem, credential)))
        return []
