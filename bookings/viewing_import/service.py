"""Import a deal or estate (MSPECS, Vitec) on an agency: its viewings and slots created as
the provider has them, and the list of what the agency can import (the admin's import
page, bookings/viewing_import/admin.py, and `manage.py import_viewings`)."""

from dataclasses import dataclass, field

from django.core.validators import MaxLengthValidator

from agencies.models import Agency
from agencies.problems import Problem
from agencies.validators import validate_provider_id
from bookings.delivery.redaction import redact_answer
from bookings.models import Viewing
from bookings.problems import viewing_import as problems
from bookings.providers import client_for
from bookings.providers.base import SourceListing, SourceReadError
from bookings.viewing_import.sync import apply_source

# As long as a viewing's source id may be (Viewing.source_id).
SOURCE_ID_MAX_LENGTH = Viewing._meta.get_field("source_id").max_length


def validate_source_id(value: str) -> None:
    """A deal or estate id becomes one path segment of the call that reads it."""
    MaxLengthValidator(SOURCE_ID_MAX_LENGTH)(value)
    validate_provider_id(value)


@dataclass
class ImportResult:
    viewings: list[Viewing] = field(default_factory=list)  # the source's, new and known
    created: int = 0
    problem: Problem | None = None


def import_source(agency: Agency, source_id: str) -> ImportResult:
    """Read the deal (MSPECS) or estate (Vitec) and create or update its viewings, all in one
    transaction: on any problem nothing is changed and `problem` says why."""
    validate_source_id(source_id)
    credential = getattr(agency, "credential", None)
    if credential is None:
        return ImportResult(problem=problems.SOURCE_NO_CREDENTIAL())
    try:
        imported = client_for(credential).import_viewings(source_id)
    except SourceReadError as error:
        return ImportResult(problem=redact_answer(error.problem, credential))
    if not imported:
        return ImportResult(problem=problems.NOTHING_TO_IMPORT(source=source_id))
    applied = apply_source(agency, source_id, imported)
    viewings = Viewing.objects.filter(agency=agency, source_id=source_id).order_by("starts_at")
    return ImportResult(viewings=list(viewings), created=len(applied.viewings_created))


def importable_sources(agency: Agency) -> list[SourceListing]:
    """The deals or estates the agency's provider offers to import. Raises
    SourceReadError saying why not, the credential's secret masked."""
    credential = getattr(agency, "credential", None)
    if credential is None:
        raise SourceReadError(problems.SOURCE_NO_CREDENTIAL())
    try:
        return client_for(credential).list_sources()
    except SourceReadError as error:
        raise SourceReadError(redact_answer(error.problem, credential), error.record) from None
