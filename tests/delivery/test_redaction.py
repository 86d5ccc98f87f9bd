"""What a DeliveryAttempt may show staff: never a credential, never a full email or phone."""

import base64

import pytest

from agencies.models import BrokerSystem
from bookings.delivery import EXCERPT_LENGTH, deliver
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


@pytest.mark.parametrize(
    "written",
    [
        "+46701234567",
        "+46 70-123 45 67",
        "+46 (0)70-123 45 67",
        "0046 70 123 45 67",
        "070-123 45 67",
        "0701234567",
        "(070) 123 45 67",
        "070.123.45.67",
    ],
)
def test_redact_masks_the_buyers_phone_in_any_written_form(written):
    redacted = redact(f"Number {written} is blocked.", [], ["+46701234567"])

    assert redacted.startswith("Number ") and redacted.endswith("*** is blocked.")
    assert "45" not in redacted and "67" not in redacted


def test_redact_leaves_other_numbers_containing_the_buyers_digits():
    text = "order 10701234567 and 07012345678"

    assert redact(text, [], ["+46701234567"]) == text


def test_redact_masks_a_secret_cut_short_at_the_end():
    assert redact("token=sandbox-sec", ["sandbox-secret"]) == "token=***"


def test_redact_masks_the_buyers_values_cut_short_at_the_end():
    personal = ["anna.svensson@example.se", "+46701234567"]

    assert redact("from anna.svens", [], personal) == "from a***"
    assert redact("call 070-123 4", [], personal) == "call 0***"


def test_redact_masks_an_email_cut_short_in_its_domain():
    assert redact("contact bob.berg@exam", []) == "contact b***@exam"


@pytest.mark.django_db
def test_attempt_excerpt_of_a_broker_echoing_the_phone_in_national_form_is_redacted(
    make_agency, make_booking, sandbox
):
    booking = make_booking(make_agency(BrokerSystem.MSPECS), phone="+46701234567")
    echo = {"errors": {"phoneNumber": ["070-123 45 67 is not accepted for this viewing."]}}
    sandbox.set_fault(status=400, count=1, body=echo)

    deliver(booking.pk)

    attempt = booking.attempts.get()
    assert attempt.endpoint == "POST /v3/viewings/externalViewer/viewing-1"
    assert attempt.http_status == 400
    assert attempt.outcome == "rejected"
    assert "123 45 67" not in attempt.response_excerpt
    assert "0*** is not accepted" in attempt.response_excerpt
    assert "sandbox-secret" not in attempt.response_excerpt


@pytest.mark.django_db
def test_attempt_excerpt_cut_inside_the_buyers_email_shows_none_of_it(
    make_agency, make_booking, sandbox
):
    booking = make_booking(make_agency(BrokerSystem.MSPECS), email="anna.svensson@example.se")
    # Padded so that the excerpt's end falls inside the echoed address.
    answer_start = len('HTTP 400: {"message": "')
    padding = "x" * (EXCERPT_LENGTH - answer_start - len("anna.svens"))
    sandbox.set_fault(status=400, count=1, body={"message": padding + booking.email})

    deliver(booking.pk)

    excerpt = booking.attempts.get().response_excerpt
    assert "xa***" in excerpt
    assert "nna.sv" not in excerpt


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
