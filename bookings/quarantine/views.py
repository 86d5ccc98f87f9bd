"""Staff pages of the quarantine mirror (see bookings/quarantine/queries.py). The admin
site registers them (bookings/quarantine/urls.py) inside its `admin_view`: staff only,
and everything scoped to the user's agencies."""

from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from agencies.models import Agency
from bookings.models import QuarantineDecision, Viewing
from bookings.pagination import BoundedCountPaginator
from bookings.providers import systems_with
from bookings.quarantine import queries as quarantine

PAGE_SIZE = 50
# Entries are counted up to this many (then "more than"): each one counted is an index probe
# for an older booking of its entry (queries.first_bookings).
COUNT_LIMIT = 1000


@dataclass(frozen=True)
class Export:
    delimiter: str
    filename: str
    byte_order_mark: bool = False


# ?format=: comma-separated UTF-8, and the form Excel set to Swedish opens directly: it
# splits on semicolons (the comma is the decimal sign) and reads UTF-8 only after a BOM.
EXPORTS = {
    "csv": Export(",", "quarantine-mirror.csv"),
    "excel": Export(";", "quarantine-mirror-excel.csv", byte_order_mark=True),
}


class MirrorFilterForm(forms.Form):
    AGE_CHOICES = [
        ("", _("any age")),
        (1, _("older than 1 day")),
        (3, _("older than 3 days")),
        (7, _("older than 7 days")),
    ]
    SORT_CHOICES = [("oldest", _("oldest first")), ("newest", _("newest first"))]

    agency = forms.IntegerField(required=False, min_value=1)
    viewing = forms.IntegerField(required=False, min_value=1)
    age = forms.TypedChoiceField(choices=AGE_CHOICES, coerce=int, empty_value=None, required=False)
    conflicts = forms.BooleanField(label=_("name conflicts only"), required=False)
    q = forms.CharField(label=_("name or email"), max_length=200, required=False)
    sort = forms.ChoiceField(choices=SORT_CHOICES, required=False)

    def mirror_filters(self) -> quarantine.MirrorFilters:
        """The filters that are valid; an invalid one is reported and left out."""
        self.is_valid()
        data = self.cleaned_data
        return quarantine.MirrorFilters(
            agency=data.get("agency"),
            viewing=data.get("viewing"),
            min_age_days=data.get("age"),
            conflicts_only=bool(data.get("conflicts")),
            search=data.get("q") or "",
            newest_first=data.get("sort") == "newest",
        )


def mirror(request):
    form = MirrorFilterForm(request.GET)
    filters = form.mirror_filters()
    export = EXPORTS.get(request.GET.get("format"))
    if export:
        return _csv_response(request, filters, export)
    entries = quarantine.pending_entries(request.user, filters)
    paginator = BoundedCountPaginator(entries, PAGE_SIZE, count_limit=COUNT_LIMIT)
    page = paginator.get_page(request.GET.get("page"))
    agencies = list(Agency.objects.for_user(request.user).order_by("name"))
    with_quarantine = systems_with("has_quarantine")
    context = {
        **admin.site.each_context(request),
        "title": _("Quarantine mirror"),
        "form": form,
        "page": page,
        "entries": quarantine.with_bookings(page.object_list),
        "quarantine_agencies": [a for a in agencies if a.provider in with_quarantine],
        "agencies_without_quarantine": [a for a in agencies if a.provider not in with_quarantine],
        "selected_viewing": filters.viewing
        and Viewing.objects.for_user(request.user).filter(pk=filters.viewing).first(),
        "decisions": QuarantineDecision.Decision.choices,
    }
    return TemplateResponse(request, "bookings/quarantine_mirror.html", context)


def _csv_response(request, filters: quarantine.MirrorFilters, export: Export) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    if export.byte_order_mark:
        response.write("\ufeff")
    quarantine.write_csv(response, request.user, filters, export.delimiter)
    return response


class DecisionForm(forms.Form):
    viewing = forms.IntegerField()
    email = forms.EmailField()
    decision = forms.ChoiceField(choices=QuarantineDecision.Decision.choices)


@require_POST
def decide(request):
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The decision was not recorded: %s") % form.errors.as_text())
        return _back(request)
    viewing = get_object_or_404(
        Viewing.objects.for_user(request.user), pk=form.cleaned_data["viewing"]
    )
    email = form.cleaned_data["email"].lower()
    if (
        not quarantine.delivered_mspecs_bookings(request.user)
        .filter(viewing=viewing, email=email)
        .exists()
    ):
        raise Http404(_("No quarantine entry for this email on this viewing."))
    decision = quarantine.record_decision(
        request.user, viewing, email, form.cleaned_data["decision"]
    )
    messages.success(
        request,
        _("%(email)s on %(viewing)s: %(decision)s.")
        % {"email": email, "viewing": viewing.title, "decision": decision.get_decision_display()},
    )
    return _back(request)


def _back(request):
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("admin:quarantine_mirror")
    return redirect(target)
