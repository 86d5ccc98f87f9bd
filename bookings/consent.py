"""What a buyer agreed to, recorded once at intake (docs/design.md, "Personal data"): the
time, the language and a version of the exact sentence shown (its SHA-256), the channel
(`Booking.source`, with the integrator's API key) and the lawful basis. No form edits it."""

import hashlib

from django.utils import timezone, translation
from django.utils.translation import gettext

from agencies.models import Agency, ApiKey
from bookings.models import Booking, LawfulBasis


def consent_sentence(agency: Agency) -> str:
    """The sentence the buyer ticks, naming the agency, in the active language."""
    return gettext(
        "I consent to %(agency)s processing my personal data to handle this booking."
    ) % {"agency": agency.name_for_buyers}


def consent_text_version(agency: Agency, language: str) -> str:
    """The version of the sentence shown in `language`: the SHA-256 of its exact text, so a
    changed wording or agency name is a new version."""
    with translation.override(language):
        sentence = consent_sentence(agency)
    return hashlib.sha256(sentence.encode()).hexdigest()


def record_consent(booking: Booking, api_key: ApiKey | None = None) -> Booking:
    """The buyer consented just now, on the public page or, through `api_key`, on the
    integrator's site (the API requires `consent: true`)."""
    booking.consent_given_at = timezone.now()
    booking.consent_text_version = consent_text_version(booking.agency, booking.language)
    booking.consent_api_key = api_key
    booking.lawful_basis = LawfulBasis.CONSENT
    return booking


def record_staff_entry(booking: Booking, user, lawful_basis: str) -> Booking:
    """Staff entered the booking at the buyer's request: the basis staff chose and who they
    are. No consent time: nothing was agreed to here, and none is sent on (Vitec's
    gdprApprovalDate, bookings/providers/vitec.py)."""
    booking.entered_by = user
    booking.lawful_basis = lawful_basis
    booking.consent_given_at = None
    booking.consent_text_version = ""
    return booking
