"""What a DeliveryAttempt may show staff: never a credential, never a full email or phone."""

import base64
import json
import time
from urllib.parse import quote, quote_plus

import pytest
from django.utils import translation

from agencies.models import Provider
from bookings import polling
from bookings.delivery.credentials import check_credential
from bookings.delivery.redaction import credential_secrets, redact, redact_log, redact_sql
from bookings.delivery.sending import EXCERPT_LENGTH, deliver
from tests.factories import by_staff, in_english, make_booking, make_slot_viewing


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
def test_attempt_excerpt_of_a_provider_echoing_the_phone_in_national_form_is_redacted(
    make_agency, sandbox
):
    booking = make_booking(make_agency(Provider.MSPECS), phone="+46701234567")
    echo = {"message": "070-123 45 67 is not accepted for this viewing."}
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
def test_attempt_excerpt_cut_inside_the_buyers_email_shows_none_of_it(make_agency, sandbox):
    booking = make_booking(make_agency(Provider.MSPECS), email="anna.svensson@example.se")
    # Padded so that the excerpt's end falls inside the echoed address.
    answer_start = len('HTTP 400: {"message": "')
    padding = "x" * (EXCERPT_LENGTH - answer_start - len("anna.svens"))
    sandbox.set_fault(status=400, count=1, body={"message": padding + booking.email})

    deliver(booking.pk)

    excerpt = booking.attempts.get().response_excerpt
    assert "xa***" in excerpt
    assert "nna.sv" not in excerpt


@pytest.mark.django_db
def test_attempt_records_duration_and_status_of_a_delivered_booking(make_agency, sandbox):
    sandbox.set_latency(0.05)
    booking = make_booking(make_agency(Provider.VITEC))

    deliver(booking.pk)

    attempt = booking.attempts.get()
    assert attempt.http_status == 200
    assert attempt.duration_ms >= 50
    assert booking.email not in attempt.response_excerpt


# --- every form of the secret, in every stored text ------------------------------------

# A quote, a backslash, non-ASCII, a plus, a space, an ampersand and a slash: each is
# written differently in JSON and in a URL.
HOSTILE_SECRET = 'pa"ss\\wörd+ &x/1'


def written_forms_of(username: str, secret: str) -> dict[str, str]:
    """What a provider may echo of a credential: the secret as is, JSON-escaped (ASCII-only
    or not), URL-encoded (+ or %20 for a space), the Basic value and the whole header."""
    basic = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {
        "as is": secret,
        "JSON-escaped": json.dumps(secret)[1:-1],
        "JSON-escaped, non-ASCII kept": json.dumps(secret, ensure_ascii=False)[1:-1],
        "JSON in JSON": json.dumps(json.dumps(secret))[1:-1],
        "URL-encoded": quote_plus(secret),
        "URL-encoded, %20 for space": quote(secret, safe=""),
        "Basic value": basic,
        "Authorization header": f"Authorization: Basic {basic}",
    }


SECRET_FORMS = written_forms_of("sandbox", HOSTILE_SECRET)


def strings_in(value) -> list[str]:
    """Every text in a stored value: a string, or JSON field errors (keys too)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in [key, *strings_in(item)]]
    if isinstance(value, list):
        return [text for item in value for text in strings_in(item)]
    return []


def problem_texts(problem) -> list[str]:
    """A stored problem's parameters as stored, and the problem as staff read it."""
    if problem is None:
        return []
    with translation.override("sv"):
        swedish = str(problem)
    return [*strings_in(problem.as_json()), swedish, in_english(problem)]


def stored_texts(booking) -> dict[str, list[str]]:
    """Every text stored from the provider's answers about `booking`, by where it is kept."""
    booking.refresh_from_db()
    credential = booking.viewing.agency.credential
    credential.refresh_from_db()
    return {
        "attempt excerpts": [a.response_excerpt for a in booking.attempts.all()],
        "last problem": problem_texts(booking.last_problem),
        "field errors": strings_in(booking.provider_errors),
        "provider reference": [booking.provider_reference],
        "credential status problem": problem_texts(credential.status_problem),
    }


def assert_nothing_stored_contains(texts: dict[str, list[str]], forms: dict[str, str]) -> None:
    leaks = [
        f"{form_name} in {where}: {text!r}"
        for where, stored in texts.items()
        for text in stored
        for form_name, form in forms.items()
        if form in text
    ]
    assert not leaks


@pytest.mark.parametrize("form", SECRET_FORMS.values(), ids=SECRET_FORMS.keys())
def test_redact_masks_every_written_form_of_the_secret(form):
    redacted = redact(f"denied for {form}.", credential_secrets("sandbox", HOSTILE_SECRET))

    assert redacted.startswith("denied for ")
    assert_nothing_stored_contains({"text": [redacted]}, SECRET_FORMS)


def test_redact_of_a_long_run_of_backslashes_takes_no_time_for_a_secret_full_of_them():
    started = time.monotonic()

    redacted = redact("\\\\" * 2000 + "!", ["\\" * 12 + "x"])

    assert time.monotonic() - started < 2  # one pattern per backslash took minutes
    assert redacted.endswith("!")


@pytest.mark.parametrize(
    "written",
    ["anna.svensson%40example.se", "anna.svensson\\u0040example.se", "%2B46701234567"],
)
def test_redact_masks_the_buyers_url_encoded_and_json_escaped_values(written):
    redacted = redact(f"unknown: {written}", [], ["anna.svensson@example.se", "+46701234567"])

    assert "svensson" not in redacted
    assert "1234567" not in redacted


# How each provider reports what it rejects: MSPECS a BadRequestError's message, Vitec
# a message and field errors.
ERROR_BODIES = {
    Provider.MSPECS: lambda echo: [{"message": f"Rejected: '{echo}' is not valid."}],
    Provider.VITEC: lambda echo: {
        "Message": f"Rejected: {echo}",
        "ModelState": {"participant.UpdatePerson.CellPhone": [f"'{echo}' is not valid."]},
    },
}


@pytest.mark.parametrize("system", ERROR_BODIES)
@pytest.mark.parametrize("form", SECRET_FORMS.values(), ids=SECRET_FORMS.keys())
@pytest.mark.django_db
def test_a_rejection_echoing_the_secret_stores_it_nowhere(system, form, make_agency, sandbox):
    booking = make_booking(make_agency(system, secret=HOSTILE_SECRET))
    sandbox.set_fault(status=400, count=1, body=ERROR_BODIES[system](form))

    assert deliver(booking.pk) == "rejected"

    texts = stored_texts(booking)
    assert "is not valid" in " ".join(texts["field errors"] + texts["last problem"])
    assert "Rejected" in " ".join(texts["attempt excerpts"])
    assert_nothing_stored_contains(texts, SECRET_FORMS)


@pytest.mark.parametrize("system", ERROR_BODIES)
@pytest.mark.django_db
def test_a_rejection_echoing_the_buyer_stores_no_full_email_or_phone(system, make_agency, sandbox):
    booking = make_booking(
        make_agency(system), email="anna.svensson@example.se", phone="+46701234567"
    )
    echo = f"{quote_plus(booking.email)} {quote_plus(booking.phone)} {booking.email}"
    sandbox.set_fault(status=400, count=1, body=ERROR_BODIES[system](echo))

    deliver(booking.pk)

    buyer = {"email": "svensson", "URL-encoded email": "%40example", "phone": "701234567"}
    assert_nothing_stored_contains(stored_texts(booking), buyer)


# A header carries ASCII only.
ASCII_SECRET_FORMS = {name: form for name, form in SECRET_FORMS.items() if form.isascii()}


@pytest.mark.parametrize("form", ASCII_SECRET_FORMS.values(), ids=ASCII_SECRET_FORMS.keys())
@pytest.mark.django_db
def test_a_redirect_to_an_address_holding_the_secret_stores_it_nowhere(form, make_agency, sandbox):
    booking = make_booking(make_agency(Provider.MSPECS, secret=HOSTILE_SECRET))
    location = f"https://login.example/?token={form}"
    sandbox.set_fault(status=302, count=1, body="", headers={"Location": location})

    assert deliver(booking.pk) == "rejected"

    texts = stored_texts(booking)
    assert "https://login.example/?token=" in in_english(booking.last_problem)
    assert_nothing_stored_contains(texts, SECRET_FORMS)


@pytest.mark.parametrize("system", ERROR_BODIES)
@pytest.mark.django_db
def test_a_refusal_echoing_the_secret_stores_it_nowhere(system, make_agency, sandbox):
    booking = make_booking(make_agency(system, secret=HOSTILE_SECRET))
    echo = " ".join(SECRET_FORMS.values())
    sandbox.set_fault(status=401, count=1, body=ERROR_BODIES[system](echo))

    deliver(booking.pk)

    assert_nothing_stored_contains(stored_texts(booking), SECRET_FORMS)


@pytest.mark.parametrize("status", [401, 404, 500])
@pytest.mark.django_db
def test_a_connection_check_answer_echoing_the_secret_is_stored_nowhere(
    status, make_agency, sandbox
):
    credential = make_agency(Provider.VITEC, secret=HOSTILE_SECRET).credential
    echo = " ".join(SECRET_FORMS.values())
    sandbox.set_fault(status=status, count=1, body=ERROR_BODIES[Provider.VITEC](echo))

    check = check_credential(credential, by_staff())

    credential.refresh_from_db()
    texts = {"message": [check.message], "status problem": problem_texts(credential.status_problem)}
    assert_nothing_stored_contains(texts, SECRET_FORMS)


@pytest.mark.django_db
def test_a_slot_poll_answer_echoing_the_secret_is_stored_nowhere(make_agency, sandbox):
    agency = make_agency(Provider.MSPECS, secret=HOSTILE_SECRET)
    viewing = make_slot_viewing(agency, "deal-1", ["a1"])
    echo = " ".join(SECRET_FORMS.values())
    sandbox.set_fault(status=500, count=1, body={"message": echo})

    summary = polling.poll_slots()

    viewing.refresh_from_db()
    assert viewing.slot_poll_problem
    texts = {
        "poll problem": problem_texts(viewing.slot_poll_problem),
        "summary": list(summary.errors.values()),
    }
    assert_nothing_stored_contains(texts, SECRET_FORMS)


@pytest.mark.parametrize(
    ("sql", "masked"),
    [
        (
            """SELECT 1 FROM "bookings_booking" WHERE "email" = 'a@example.se' AND "id" = 4""",
            """SELECT 1 FROM "bookings_booking" WHERE "email" = '***' AND "id" = 4""",
        ),
        (
            "UPDATE t SET last_name = 'O''Brien', phone = '0701234567'",
            "UPDATE t SET last_name = '***', phone = '***'",
        ),
        ("INSERT INTO t VALUES ('', 'x')", "INSERT INTO t VALUES ('***', '***')"),
    ],
    ids=["identifiers-stay", "quote-inside", "empty"],
)
def test_redact_sql_masks_every_string_literal(sql, masked):
    assert redact_sql(sql) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("GET /x/?email=a%40example.se&q=Zelda#top", "GET /x/?email=***&q=***#top"),
        ("GET /x/?q=&page=2", "GET /x/?q=&page=***"),
        (
            "DETAIL:  Key (lower(email::text), viewing_id)=(zelda@example.se, 3) already exists.",
            "DETAIL:  Key (lower(email::text), viewing_id)=(***) already exists.",
        ),
        (
            "DETAIL:  Failing row contains (7, Zelda, 0701234567, null).",
            "DETAIL:  Failing row contains (***).",
        ),
        (
            'invalid input syntax for type integer: "Zetterlund"',
            'invalid input syntax for type integer: "***"',
        ),
        (
            "LINE 1: ...FROM t WHERE last_name = 'Zetterl",
            "LINE 1: ...FROM t WHERE last_name = '***'",
        ),
    ],
    ids=[
        "query-string",
        "empty-query-value",
        "unique-key",
        "failing-row",
        "input-syntax",
        "cut-line",
    ],
)
def test_redact_log_masks_query_values_and_what_postgresql_quotes(text, masked):
    assert redact_log(text) == masked
