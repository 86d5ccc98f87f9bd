"""What a DeliveryAttempt may show staff: never a credential, never a full email or phone."""

import base64

import pytest

from agencies.models import BrokerSystem
from bookings.delivery import deliver
from bookings.redaction import credential_secrets, redact


def test_redact_masks_secrets_and_authorization_headers():
    basic = base64.b64encode(b"sandbox:s3cret").decode()
    text = f"secret=s3cret Authorization: Basic {basic} token Bearer abc.def"

    redacted = redact(text, credential_secrets("sandbox", "s3cret"))

    assert "s3cret" not in redacted
    assert basic not in redacted
    assert "abc.def" not in redacted
    assert "Basic ***" in redacted


def test_redact_masks_emails_and_international_phone_numbers():
    redacted = redact("anna.svensson@example.se called from +46 70-111 11 11", [])

    assert redacted == "a***@example.se called from +46***11"


def test_redact_keeps_dates_and_ids():
    text = '{"id": "3f2a-1234-5678", "date": "2024-11-21T09:52:41+01:00"}'

    assert redact(text, []) == text


def test_redact_masks_the_buyers_own_values_in_any_form():
    redacted = redact("'0701111111' is not valid for ANNA@EXAMPLE.SE", [], ["0701111111"])

    assert "0701111111" not in redacted
    assert "ANNA@EXAMPLE.SE" not in redacted


@pytest.mark.django_db
def test_attempt_excerpt_of_an_echoing_broker_is_redacted(make_agency, make_booking):
    booking = make_booking(make_agency(BrokerSystem.MSPECS), phone="0701234567")

    deliver(booking.pk)

    attempt = booking.attempts.get()
    assert attempt.endpoint == "POST /v3/viewings/externalViewer/viewing-1"
    assert attempt.http_status == 400
    assert attempt.outcome == "rejected"
    assert "0701234567" not in attempt.response_excerpt
    assert "0***" in attempt.response_excerpt
    assert "sandbox-secret" not in attempt.response_excerpt


@pytest.mark.django_db
def test_attempt_records_duration_and_status_of_a_delivered_booking(
    make_agency, make_booking, sandbox
):
    sandbox.set_latency(0.05)
    booking = make_booking(make_agency(BrokerSystem.VITEC))

    deliver(booking.pk)

    attempt = booking.attempts.get()
    assert attempt.http_status == 200
    assert attempt.duration_ms >= 50
    assert booking.email not in attempt.response_excerpt
