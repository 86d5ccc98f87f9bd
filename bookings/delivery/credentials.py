"""The credential lifecycle, as plain functions called where credentials are saved and
tested (the credential admin, the demo), never from signals:

- changed (`save_credential`): a failing credential whose connection details were edited
  is no longer known to fail; it becomes untested, and its agency's held bookings go again;
- refused (`hold_agency`, from a delivery answered 401/403): the credential is failing and
  the agency's waiting bookings are held instead of burning their attempts on it;
- works (`check_credential`, the admin's Test connection): it is marked working and the
  held bookings go again (`resume_held`).
"""

from dataclasses import replace

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies.alerts import record_alert
from agencies.models import (
    SECRET_SCOPE_FIELDS,
    Agency,
    AlertKind,
    AuthScheme,
    CredentialStatus,
    ProviderCredential,
)
from agencies.problems import CHANGED_AFTER_FAILING, Problem
from bookings.audit import Action, By, record
from bookings.delivery.redaction import redact_answer
from bookings.delivery.schedule import wake_delivery
from bookings.models import Booking
from bookings.problems import delivery as problems
from bookings.providers import client_for, plugin_for
from bookings.providers.base import ConnectionCheck

Status = Booking.Status

CONNECTION_FIELDS = [*SECRET_SCOPE_FIELDS, "secret"]


def provider_errors(credential: ProviderCredential) -> dict[str, ValidationError]:
    """What the agency's provider needs of the credential and it lacks, by field (its
    plug-in says: a customer id, a subscriber id, the schemes it accepts). The credential
    model checks the rest (ProviderCredential.clean)."""
    plugin = plugin_for(credential.agency.provider)
    system = credential.agency.get_provider_display()
    errors = {}
    if plugin.needs_customer_id and not credential.vitec_customer_id:
        errors["vitec_customer_id"] = ValidationError(
            _("%(system)s needs the agency's customer id."), params={"system": system}
        )
    if plugin.needs_subscriber_id(credential) and not credential.mspecs_subscriber_id:
        errors["mspecs_subscriber_id"] = ValidationError(
            _("%(system)s needs the agency's subscriber id for this API."),
            params={"system": system},
        )
    if credential.auth_scheme not in plugin.auth_schemes:
        errors["auth_scheme"] = ValidationError(
            _("%(system)s accepts only %(schemes)s."),
            params={
                "system": system,
                "schemes": ", ".join(str(AuthScheme(s).label) for s in plugin.auth_schemes),
            },
        )
    return errors


@transaction.atomic
def save_credential(credential: ProviderCredential) -> int:
    """Save a credential as staff edited it. A failing one whose connection details
    changed becomes untested; one that is not failing sends the agency's held bookings
    again. Returns how many were queued again."""
    # Compared with the values it was loaded with: what decides whether the provider
    # accepts it.
    if (
        credential.pk is not None
        and credential.status == CredentialStatus.FAILING
        and any(credential.differs_from_stored(name) for name in CONNECTION_FIELDS)
    ):
        credential.status = CredentialStatus.UNTESTED
        credential.status_problem = CHANGED_AFTER_FAILING()
    credential.save()
    if credential.status == CredentialStatus.FAILING:
        return 0
    return resume_held(credential.agency_id)


def hold_agency(credential: ProviderCredential, reason: Problem) -> bool:
    """The credential is refused: mark it failing and hold the agency's waiting bookings.
    False when the credential was changed since the call (a late refusal of the old
    secret), which then holds nothing."""
    now = timezone.now()
    marked = ProviderCredential.objects.filter(
        pk=credential.pk, updated_at=credential.updated_at
    ).update(status=CredentialStatus.FAILING, status_problem=reason, status_changed_at=now)
    if not marked:
        return False
    if credential.status != CredentialStatus.FAILING:
        alert_credential_failing(credential, reason)
    Booking.objects.filter(
        viewing__agency=credential.agency_id, status__in=Status.waiting()
    ).update(status=Status.HELD, last_problem=problems.CREDENTIAL_FAILING(), updated_at=now)
    return True


def resume_held(agency: Agency | int) -> int:
    """Queue the agency's held bookings again (its credential works, or may work) and wake
    their delivery."""
    held = Booking.objects.filter(viewing__agency=agency, status=Status.HELD)
    booking_ids = list(held.values_list("pk", flat=True))
    # A fresh retry schedule: the refused attempts said nothing about the booking.
    held.filter(pk__in=booking_ids).update(
        status=Status.QUEUED,
        attempt_count=0,
        next_attempt_at=None,
        last_problem=None,
        updated_at=timezone.now(),
    )
    for booking_id in booking_ids:
        wake_delivery(booking_id)
    return len(booking_ids)


def check_credential(credential: ProviderCredential, by: By) -> ConnectionCheck:
    """Make a harmless authenticated call and record the credential's status: refused, it
    is failing; accepted, it works and the held bookings go again. The audit trail records
    who tested it and the status it ended in."""
    check = client_for(credential).check_connection()
    check.problem = redact_answer(check.problem, credential)
    credential.tested_at = timezone.now()
    ProviderCredential.objects.filter(pk=credential.pk).update(tested_at=credential.tested_at)
    if check.ok is True:
        credential.mark_status(CredentialStatus.OK, check.problem)
        credential.close_circuit()  # it answers: held bookings need not wait for a probe
        check.resumed = resume_held(credential.agency_id)
    elif check.ok is False:
        if credential.status != CredentialStatus.FAILING:
            alert_credential_failing(credential, check.problem)
        credential.mark_status(CredentialStatus.FAILING, check.problem)
    tested = replace(by, details={"outcome": credential.status})
    record(tested, [credential], Action.TEST_CONNECTION)
    return check


def alert_credential_failing(credential: ProviderCredential, problem: Problem) -> None:
    record_alert(
        credential.agency_id,
        AlertKind.CREDENTIAL_FAILING,
        str(credential.agency),
        problem,
        reverse("admin:agencies_providercredential_change", args=[credential.pk]),
    )
