"""A booking is validated once, by the model, whichever door it comes through; the JSON API
answers only the error codes of its ErrorCode enum, all of them listed in its document."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings.intake.schemas import ErrorCode
from bookings.models import Booking, Viewing
from tests.factories import admin_booking_data, make_slot, post_booking_api, post_booking_page

pytestmark = pytest.mark.django_db


@pytest.fixture
def clean_calls(monkeypatch):
    """Every Booking.clean call, in order."""
    real_clean = Booking.clean
    calls = []

    def clean(booking):
        calls.append(booking)
        return real_clean(booking)

    monkeypatch.setattr(Booking, "clean", clean)
    return calls


def test_the_api_validates_a_booking_once(client, api_key, slot_viewing, clean_calls):
    assert post_booking_api(client, api_key).status_code == 202
    assert len(clean_calls) == 1


def test_the_public_page_validates_a_booking_once(client, slot_viewing, clean_calls):
    assert post_booking_page(client, slot_viewing).status_code == 302
    assert len(clean_calls) == 1


def test_the_admin_validates_a_booking_once(admin_client, slot_viewing, clean_calls):
    slot = slot_viewing.slots.get(provider_slot_id="slot-open")

    admin_client.post(reverse("admin:bookings_booking_add"), admin_booking_data(slot_viewing, slot))

    assert Booking.objects.count() == 1
    assert len(clean_calls) == 1


def test_api_refuses_a_slot_of_a_viewing_without_slots_in_the_models_words(
    client, api_key, ordinary_viewing
):
    make_slot(ordinary_viewing, provider_slot_id="left-over")

    response = post_booking_api(
        client, api_key, url="/api/v1/viewings/view-2/bookings", slot="left-over"
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "slot": ["This viewing has no time slots; leave the slot empty."]
    }
    assert not Booking.objects.exists()


def test_the_openapi_document_lists_exactly_the_error_codes(client):
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]

    assert schemas["ErrorDetail"]["properties"]["code"] == {
        "$ref": "#/components/schemas/ErrorCode"
    }
    assert schemas["ErrorCode"]["enum"] == [code.value for code in ErrorCode]


def answer(client, api_key, settings, code: ErrorCode):
    """A request the API answers with `code`."""
    create_url = "/api/v1/viewings/view-1/bookings"
    match code:
        case ErrorCode.INVALID:
            return post_booking_api(client, api_key, phone="12")
        case ErrorCode.INVALID_JSON:
            return client.post(
                create_url, "{", "application/json", HTTP_AUTHORIZATION=f"Bearer {api_key}"
            )
        case ErrorCode.UNAUTHORIZED:
            return client.get("/api/v1/viewings")
        case ErrorCode.NOT_FOUND:
            return post_booking_api(client, api_key, url="/api/v1/viewings/nope/bookings")
        case ErrorCode.METHOD_NOT_ALLOWED:
            return client.delete("/api/v1/viewings")
        case ErrorCode.SLOT_FULL:
            return post_booking_api(client, api_key, slot="slot-full")
        case ErrorCode.BOOKING_CLOSED:
            Viewing.objects.filter(provider_viewing_id="view-1").update(
                booking_closes_at=timezone.now()
            )
            return post_booking_api(client, api_key)
        case ErrorCode.DUPLICATE_BOOKING:
            post_booking_api(client, api_key)
            return post_booking_api(client, api_key)
        case ErrorCode.TOO_LARGE:
            settings.API_MAX_BODY_BYTES = 10
            return post_booking_api(client, api_key)
        case ErrorCode.UNSUPPORTED_MEDIA_TYPE:
            return client.post(
                create_url, "a=b", "text/plain", HTTP_AUTHORIZATION=f"Bearer {api_key}"
            )
        case ErrorCode.IDEMPOTENCY_KEY_REUSED:
            key = {"HTTP_IDEMPOTENCY_KEY": "k"}
            post_booking_api(client, api_key, headers=key)
            return post_booking_api(client, api_key, headers=key, first_name="Bo")
        case ErrorCode.RATE_LIMITED:
            settings.API_RATE_LIMIT_PER_KEY = 1
            client.get("/api/v1/viewings", HTTP_AUTHORIZATION=f"Bearer {api_key}")
            return client.get("/api/v1/viewings", HTTP_AUTHORIZATION=f"Bearer {api_key}")


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_error_code_is_one_the_api_answers(client, api_key, slot_viewing, settings, code):
    response = answer(client, api_key, settings, code)

    assert response.json()["error"]["code"] == code


class SwedishClient(Client):
    """Every request asks for Swedish (Accept-Language), whatever `answer` sends."""

    def generic(self, *args, **extra):
        return super().generic(*args, **{**extra, "HTTP_ACCEPT_LANGUAGE": "sv"})


SWEDISH_MESSAGES = {
    ErrorCode.INVALID: "Några fält är inte giltiga.",
    ErrorCode.INVALID_JSON: "Innehållet är inte giltig JSON.",
    ErrorCode.UNAUTHORIZED: "Skicka en giltig API-nyckel som inte är återkallad, som "
    "'Authorization: Bearer <nyckel>'.",
    ErrorCode.NOT_FOUND: "Ingen öppen visning med detta id för er byrå.",
    ErrorCode.METHOD_NOT_ALLOWED: "Använd GET.",
    ErrorCode.SLOT_FULL: "Den här tiden är fullbokad.",
    ErrorCode.BOOKING_CLOSED: "Bokningen för den här visningen har stängt.",
    ErrorCode.DUPLICATE_BOOKING: "Den här köparen (e-postadressen) har redan en aktiv bokning "
    "av visningen: en per köpare och visning, oavsett tid. status_url pekar ut den; för att "
    "byta tid flyttar byrån den till en annan tid.",
    ErrorCode.TOO_LARGE: "Innehållet får vara högst 10 byte.",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: "Skicka innehållet som application/json.",
    ErrorCode.IDEMPOTENCY_KEY_REUSED: "Den här Idempotency-Key användes för en annan förfrågan.",
    ErrorCode.RATE_LIMITED: "För många förfrågningar för den här API-nyckeln.",
}


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_error_message_is_in_the_requests_language(api_key, slot_viewing, settings, code):
    response = answer(SwedishClient(), api_key, settings, code)

    assert response.json()["error"]["message"] == SWEDISH_MESSAGES[code]
