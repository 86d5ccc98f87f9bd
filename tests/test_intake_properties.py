"""Random and hostile payloads against both doors: never a 500, never a partial row, and
every error names the field it is about."""

import json

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bookings.intake.api import BOOKING_FIELDS
from bookings.models import Booking

pytestmark = pytest.mark.django_db

FAST = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    # Lone surrogates, NUL and other control characters.
    st.text(st.characters(codec=None, categories=["Cs", "Cc", "Zs", "Lo"]), max_size=20),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "slot-open",
            "slot-full",
            "slot-past",
            "070-111 11 11",
            "+46 70 111 11 11",
            "0046701111111",
            "anna@example.se",
            "a@b",
            "'; DROP TABLE bookings_booking; --",
            "<script>alert(1)</script>",
            "x" * 300,
        ]
    ),
)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | HOSTILE_TEXT,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=5,
)
FIELD_NAME = st.sampled_from(BOOKING_FIELDS) | st.text(max_size=10)
PAYLOAD = st.dictionaries(FIELD_NAME, JSON_VALUE | HOSTILE_TEXT, max_size=8)
VALID_ENOUGH = st.fixed_dictionaries(
    {
        "first_name": HOSTILE_TEXT,
        "last_name": HOSTILE_TEXT,
        "email": HOSTILE_TEXT,
        "phone": HOSTILE_TEXT,
        "slot": HOSTILE_TEXT,
        "consent": st.booleans(),
    },
    optional={"message": HOSTILE_TEXT},
)
API_STATUSES = {202, 400, 404, 409, 413, 415, 422}


@pytest.fixture
def no_rate_limits(settings):
    # Set once per test, not per example: each settings change stacks an override.
    settings.API_RATE_LIMIT_PER_KEY = 0
    settings.BOOKING_RATE_LIMIT_PER_IP = settings.BOOKING_RATE_LIMIT_PER_VIEWING = 0


def assert_error_names_fields(body: dict, sent: dict):
    error = body["error"]
    assert error["code"] and error["message"]
    if error["code"] in {"invalid", "slot_full"}:
        assert error["fields"]
        assert set(error["fields"]) <= {*BOOKING_FIELDS, *sent}


@FAST
@given(payload=PAYLOAD | VALID_ENOUGH)
def test_api_answers_any_json_object_without_a_500_or_partial_row(
    client, api_key, slot_viewing, no_rate_limits, payload
):
    before = Booking.objects.count()

    response = client.post(
        "/api/v1/viewings/view-1/bookings",
        json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
    )

    assert response.status_code in API_STATUSES
    if response.status_code == 202:
        assert Booking.objects.count() == before + 1
    else:
        assert Booking.objects.count() == before
        assert_error_names_fields(response.json(), payload)


@settings(FAST, max_examples=200)
@given(
    body=st.binary(max_size=200),
    content_type=st.sampled_from(["application/json", "text/plain", "application/json; x=1"]),
    idempotency_key=st.none() | HOSTILE_TEXT.filter(lambda key: "\n" not in key),
)
def test_api_answers_any_bytes_without_a_500(
    client, api_key, slot_viewing, no_rate_limits, body, content_type, idempotency_key
):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {api_key}"}
    if idempotency_key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = idempotency_key

    response = client.post(
        "/api/v1/viewings/view-1/bookings", body, content_type=content_type, **headers
    )

    assert response.status_code in API_STATUSES
    assert response.json()["error"]["code"]


@FAST
@given(data=st.dictionaries(st.sampled_from([*BOOKING_FIELDS, "website"]), HOSTILE_TEXT))
def test_public_form_answers_any_input_without_a_500_or_partial_row(
    slot_viewing, no_rate_limits, data
):
    before = Booking.objects.count()
    # Form fields travel url-encoded; lone surrogates cannot, as in a real browser.
    data = {name: value.encode(errors="replace").decode() for name, value in data.items()}

    response = Client().post(f"/book/{slot_viewing.public_id}/", data)

    assert response.status_code in {200, 302}
    if response.status_code == 302:
        assert Booking.objects.count() in {before, before + 1}  # same email: not stored twice
    else:
        assert Booking.objects.count() == before
        errors = response.context["form"].errors
        assert errors
        assert set(errors) <= set(response.context["form"].fields)
