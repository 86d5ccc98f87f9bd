import json
import re
import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from jsonschema import Draft202012Validator, FormatChecker

import bookings.intake.urls
from agencies.models import ApiKey
from bookings.models import Booking, IdempotentRequest, Viewing
from tests.factories import BUYER, make_agency, make_three_slot_viewing, make_viewing

pytestmark = pytest.mark.django_db

CREATE_URL = "/api/v1/viewings/view-1/bookings"
STOCKHOLM = zoneinfo.ZoneInfo("Europe/Stockholm")


@pytest.fixture
def api(client, api_key):
    """POST/GET with the agency's key, JSON in and out."""

    class Api:
        def post(self, url=CREATE_URL, payload=None, key=api_key, **headers):
            body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
            headers.setdefault("content_type", "application/json")
            return client.post(url, body, HTTP_AUTHORIZATION=f"Bearer {key}", **headers)

        def get(self, url, key=api_key):
            return client.get(url, HTTP_AUTHORIZATION=f"Bearer {key}")

    return Api()


def booking_payload(**overrides) -> dict:
    return {**BUYER, "slot": "slot-open", "consent": True, **overrides}


def test_booking_is_accepted_with_202_and_a_status_url(api, slot_viewing):
    response = api.post(payload=booking_payload())

    body = response.json()
    booking = Booking.objects.get()
    assert response.status_code == 202
    assert body["id"] == booking.pk
    assert body["status"] == "queued"
    assert body["status_url"] == f"http://testserver/api/v1/bookings/{booking.pk}"
    assert response["Location"] == body["status_url"]
    assert booking.source == Booking.Source.API
    assert (booking.email, booking.phone) == ("anna@example.se", "+46701111111")
    assert booking.consent_given_at is not None


def test_status_url_shows_the_current_status(api, slot_viewing):
    status_url = api.post(payload=booking_payload()).json()["status_url"]
    Booking.objects.update(status=Booking.Status.DELIVERED)

    response = api.get(status_url)

    assert response.status_code == 200
    assert response.json()["status"] == "delivered"
    assert response.json()["slot_id"] == "slot-open"


def test_viewing_list_shows_open_viewings_and_upcoming_slots(api, slot_viewing, ordinary_viewing):
    Viewing.objects.filter(pk=ordinary_viewing.pk).update(is_open=False)

    viewings = api.get("/api/v1/viewings").json()["viewings"]

    assert [viewing["id"] for viewing in viewings] == ["view-1"]
    assert [(slot["id"], slot["bookable"]) for slot in viewings[0]["slots"]] == [
        ("slot-open", True),
        ("slot-full", False),
    ]


def test_ended_viewing_is_neither_listed_nor_bookable(api, slot_viewing):
    Viewing.objects.filter(pk=slot_viewing.pk).update(
        starts_at=timezone.now() - timedelta(hours=2), ends_at=timezone.now() - timedelta(hours=1)
    )

    assert api.get("/api/v1/viewings").json()["viewings"] == []
    assert api.post(payload=booking_payload()).status_code == 404
    assert not Booking.objects.exists()


def test_key_sees_only_its_own_agency(api, slot_viewing):
    other_viewing = make_three_slot_viewing(make_agency(), provider_viewing_id="other-1")
    other_key = ApiKey.issue(other_viewing.agency, "Other")[1]
    status_url = api.post(payload=booking_payload()).json()["status_url"]

    assert api.get(status_url, key=other_key).status_code == 404
    assert api.post(payload=booking_payload(), key=other_key).status_code == 404
    assert api.get("/api/v1/viewings", key=other_key).json()["viewings"][0]["id"] == "other-1"


@pytest.mark.parametrize("authorization", ["", "Bearer", "Bearer vb_wrong", "Basic abc"])
def test_missing_or_wrong_key_is_401(client, slot_viewing, authorization):
    response = client.get("/api/v1/viewings", HTTP_AUTHORIZATION=authorization)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_key_is_401(api, mspecs_agency, slot_viewing):
    ApiKey.objects.update(revoked_at="2026-01-01T00:00:00Z")

    assert api.post(payload=booking_payload()).status_code == 401


def test_invalid_fields_are_400_naming_each_field(api, slot_viewing):
    response = api.post(payload=booking_payload(email="nope", phone="12", consent=False))

    error = response.json()["error"]
    assert response.status_code == 400
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"email", "phone", "consent"}
    assert not Booking.objects.exists()


def test_errors_follow_accept_language(api, slot_viewing):
    response = api.post(payload=booking_payload(phone="12"), HTTP_ACCEPT_LANGUAGE="sv")

    assert response.json()["error"]["fields"]["phone"][0].startswith("Ange ett giltigt")


def test_wrong_types_and_unknown_fields_are_400_naming_each_field(api, slot_viewing):
    response = api.post(payload=booking_payload(first_name=["A"], consent="yes", admin=True))

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"first_name", "consent", "admin"}


@pytest.mark.parametrize("body", ["{", "[]", '"text"', "[" * 10_000])
def test_malformed_json_is_400(api, slot_viewing, body):
    response = api.post(payload=body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_full_slot_is_409(api, slot_viewing):
    response = api.post(payload=booking_payload(slot="slot-full"))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "slot_full"
    assert "slot" in response.json()["error"]["fields"]


def test_unknown_or_closed_viewing_is_404(api, slot_viewing):
    Viewing.objects.update(is_open=False)

    assert api.post(payload=booking_payload()).status_code == 404
    assert api.post("/api/v1/viewings/nope/bookings", booking_payload()).status_code == 404


def test_body_over_the_limit_is_413(api, slot_viewing, settings):
    settings.API_MAX_BODY_BYTES = 100

    response = api.post(payload=booking_payload(message="x" * 200))

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_body_over_djangos_upload_limit_is_the_same_json_413(api, slot_viewing, settings):
    # 3 MB: more than DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), where Django stops reading.
    response = api.post(payload=booking_payload(message="x" * 3_000_000))

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "too_large"
    assert str(settings.API_MAX_BODY_BYTES) in response.json()["error"]["message"]


def test_form_encoded_body_is_415(api, slot_viewing):
    response = api.post(payload="a=b", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415


def test_too_many_requests_is_429_with_retry_after(api, slot_viewing, settings):
    settings.API_RATE_LIMIT_PER_KEY = 1
    api.get("/api/v1/viewings")

    response = api.get("/api/v1/viewings")

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60


def test_unknown_api_route_is_a_json_404(api):
    response = api.get("/api/v1/viewings/view-1")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_wrong_method_is_405_json(api, slot_viewing):
    response = api.get(CREATE_URL)

    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_retry_with_idempotency_key_returns_the_first_response(api, slot_viewing):
    first = api.post(payload=booking_payload(), HTTP_IDEMPOTENCY_KEY="abc-1")
    Booking.objects.update(status=Booking.Status.DELIVERED)

    retry = api.post(payload=booking_payload(), HTTP_IDEMPOTENCY_KEY="abc-1")

    assert retry.status_code == 202
    assert retry.json() == first.json()
    assert Booking.objects.count() == 1


def test_idempotency_key_reused_for_another_body_is_422(api, slot_viewing):
    api.post(payload=booking_payload(), HTTP_IDEMPOTENCY_KEY="abc-1")

    response = api.post(payload=booking_payload(first_name="Bo"), HTTP_IDEMPOTENCY_KEY="abc-1")

    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert Booking.objects.count() == 1


def test_failed_request_does_not_use_up_the_idempotency_key(api, slot_viewing):
    api.post(payload=booking_payload(phone="12"), HTTP_IDEMPOTENCY_KEY="abc-1")

    assert not IdempotentRequest.objects.exists()


def routes(patterns, prefix="") -> list[tuple[str, str | None]]:
    """(route, name) of every URL pattern, included ones too."""
    found = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if hasattr(pattern, "url_patterns"):
            found += routes(pattern.url_patterns, route)
        else:
            found.append((route, pattern.name))
    return found


def api_routes() -> set[str]:
    """Every named route under /api/v1/ but the document itself and the API's empty root,
    as OpenAPI paths."""
    return {
        "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route).removeprefix("api/v1/")
        for route, name in routes(bookings.intake.urls.urlpatterns)
        if route.startswith("api/v1/")
        and name not in (None, "api-openapi", "api-root")  # the catch-all has no name
    }


def test_openapi_document_lists_every_api_route(client):
    document = client.get("/api/v1/openapi.json").json()

    assert set(document["paths"]) == api_routes()
    assert "/viewings/{viewing_id}/bookings" in api_routes()  # path converters read as {names}


def test_responses_carry_the_properties_the_openapi_document_names(client, api, slot_viewing):
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    booking = api.post(payload=booking_payload()).json()
    viewing = api.get("/api/v1/viewings").json()["viewings"][0]
    error = api.post(payload=booking_payload()).json()["error"]  # the same buyer again

    assert set(booking) == set(schemas["Booking"]["properties"])
    assert set(viewing) == set(schemas["Viewing"]["properties"])
    assert set(viewing["slots"][0]) == set(schemas["Slot"]["properties"])
    assert schemas["Error"]["properties"]["error"] == {"$ref": "#/components/schemas/ErrorDetail"}
    assert set(error) == set(schemas["ErrorDetail"]["properties"])
    assert set(schemas["BookingRequest"]["properties"]) == {*BUYER, "slot", "consent", "language"}


@pytest.mark.parametrize("viewing_id", ["%00", "view%00-1", "x" * 201])
def test_viewing_id_with_a_nul_byte_or_too_long_is_a_json_404(api, slot_viewing, viewing_id):
    response = api.post(f"/api/v1/viewings/{viewing_id}/bookings", booking_payload())

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert not Booking.objects.exists()


def test_slot_for_a_viewing_without_slots_is_refused(api, ordinary_viewing):
    response = api.post("/api/v1/viewings/view-2/bookings", booking_payload())

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["slot"]
    assert not Booking.objects.exists()


def test_viewing_without_slots_books_without_a_slot(api, ordinary_viewing):
    response = api.post("/api/v1/viewings/view-2/bookings", booking_payload(slot=None))

    assert response.status_code == 202
    assert Booking.objects.get().slot is None


def test_type_errors_follow_accept_language(api, slot_viewing):
    response = api.post(payload=booking_payload(admin=True), HTTP_ACCEPT_LANGUAGE="sv")

    assert response.json()["error"]["fields"] == {"admin": ["Okänt fält."]}


# --- date-only viewings and hidden times (MSPECS, docs/mspecs.md): as the booking page shows them


@pytest.fixture
def date_only_viewing(mspecs_agency):
    """An MSPECS date-only viewing: its times span the day in Swedish time."""
    return make_viewing(
        mspecs_agency,
        provider_viewing_id="day-1",
        date_only=True,
        starts_at=datetime(2031, 6, 14, tzinfo=STOCKHOLM),
        ends_at=datetime(2031, 6, 15, tzinfo=STOCKHOLM),
    )


def same_moment(text: str, moment: datetime) -> bool:
    """A time as the API writes it (to the millisecond) is `moment`."""
    return abs(datetime.fromisoformat(text) - moment) < timedelta(milliseconds=1)


def listed(api, viewing_id) -> dict:
    viewings = api.get("/api/v1/viewings").json()["viewings"]
    return next(viewing for viewing in viewings if viewing["id"] == viewing_id)


def test_a_date_only_viewing_is_listed_by_its_date_without_times(api, date_only_viewing):
    viewing = listed(api, "day-1")

    assert (viewing["date"], viewing["date_only"], viewing["times_hidden"]) == (
        "2031-06-14",
        True,
        False,
    )
    assert (viewing["starts_at"], viewing["ends_at"]) == (None, None)
    assert "00:00" not in json.dumps(viewing)


def test_a_date_only_viewing_is_booked_by_its_date(api, date_only_viewing):
    response = api.post("/api/v1/viewings/day-1/bookings", booking_payload(slot=None))

    assert response.status_code == 202
    assert response.json()["slot_id"] is None
    assert Booking.objects.get().booked_by_date


def test_hidden_times_are_left_out_but_the_slots_keep_theirs(api, slot_viewing):
    Viewing.objects.filter(pk=slot_viewing.pk).update(hide_times=True)
    open_slot = slot_viewing.slots.get(provider_slot_id="slot-open")

    viewing = listed(api, "view-1")

    assert (viewing["date_only"], viewing["times_hidden"]) == (False, True)
    assert (viewing["starts_at"], viewing["ends_at"]) == (None, None)
    assert viewing["date"] == timezone.localdate(slot_viewing.starts_at).isoformat()
    slot = viewing["slots"][0]
    assert slot["id"] == "slot-open"
    assert same_moment(slot["starts_at"], open_slot.starts_at)
    assert same_moment(slot["ends_at"], open_slot.ends_at)


def test_a_timed_viewing_is_listed_with_its_times_and_its_date(api, slot_viewing):
    viewing = listed(api, "view-1")

    assert (viewing["date_only"], viewing["times_hidden"]) == (False, False)
    assert same_moment(viewing["starts_at"], slot_viewing.starts_at)
    assert same_moment(viewing["ends_at"], slot_viewing.ends_at)
    assert viewing["date"] == timezone.localdate(slot_viewing.starts_at).isoformat()


def test_every_kind_of_viewing_is_listed_as_the_openapi_document_describes(
    client, api, slot_viewing, ordinary_viewing, date_only_viewing
):
    Viewing.objects.filter(pk=ordinary_viewing.pk).update(hide_times=True)
    document = client.get("/api/v1/openapi.json").json()
    validator = Draft202012Validator(
        {**document, "$ref": "#/components/schemas/ViewingList"}, format_checker=FormatChecker()
    )

    answer = api.get("/api/v1/viewings").json()

    assert len(answer["viewings"]) == 3
    assert [error.message for error in validator.iter_errors(answer)] == []
