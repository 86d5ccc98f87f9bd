"""Hostile values at every door: names, the message, provider ids, NUL bytes in admin URLs."""

import pytest
from django.core.exceptions import ValidationError
from django.db import DataError
from django.urls import reverse

from agencies.models import Provider, ProviderCredential
from agencies.validators import validate_provider_id
from bookings.models import Booking, Viewing, ViewingSlot
from tests.factories import (
    ROLES,
    admin_booking_data,
    make_agency,
    make_booking,
    make_staff_user,
    make_user_in_role,
    make_viewing,
    post_booking_api,
    post_booking_page,
)

pytestmark = pytest.mark.django_db

API_URL = "/api/v1/viewings/view-1/bookings"

HOSTILE_NAMES = {
    "line break (header injection)": "Eve\nBcc: x@evil.se",
    "carriage return": "Eve\rX",
    "right-to-left override": "Eve\u202eesiveR",
    "zero-width space": "E\u200bve",
    "byte-order mark": "\ufeffEve",
    "line separator": "Eve\u2028Bcc",
    "joiner outside emoji": "E\u200dve",
}
NAMES_KEPT = {
    "Åsa": "A\u030asa",  # decomposed å becomes one character (NFC)
    "Zoë-Li 👩‍💻": "Zoë-Li 👩\u200d💻",  # a zero-width joiner inside an emoji
    "Jo ❤️‍🔥": "Jo ❤\ufe0f\u200d🔥",
}


def api_post(client, api_key, **fields):
    return post_booking_api(client, api_key, API_URL, **fields)


def admin_add(client, viewing, **fields):
    slot = viewing.slots.get(provider_slot_id="slot-open")
    return client.post(
        reverse("admin:bookings_booking_add"),
        admin_booking_data(viewing, slot, **fields),
        HTTP_ACCEPT_LANGUAGE="en",
    )


# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
def test_api_refuses_control_and_formatting_characters_in_names(
    client, api_key, slot_viewing, name
):
    response = api_post(client, api_key, first_name=name, last_name=name)

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert "control, formatting or line-break characters" in fields["first_name"][0]
    assert "last_name" in fields
    assert not Booking.objects.exists()


@pytest.mark.parametrize("name", HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
def test_page_refuses_control_and_formatting_characters_in_names(client, slot_viewing, name):
    response = post_booking_page(client, slot_viewing, last_name=name)

    assert response.status_code == 200
    assert response.context["form"].has_error("last_name", "invisible_character")
    assert not Booking.objects.exists()


@pytest.mark.parametrize("name", HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
def test_admin_form_refuses_control_and_formatting_characters_in_names(
    admin_client, slot_viewing, name
):
    response = admin_add(admin_client, slot_viewing, first_name=name)

    assert response.context["adminform"].form.has_error("first_name", "invisible_character")
    assert not Booking.objects.exists()


def test_admin_change_form_refuses_a_line_break_in_a_stored_name(admin_client, slot_viewing):
    booking = make_booking(slot_viewing, slot_viewing.slots.get(provider_slot_id="slot-open"))

    response = admin_client.post(
        reverse("admin:bookings_booking_change", args=[booking.pk]),
        admin_booking_data(slot_viewing, booking.slot, first_name="Eve\nBcc: x@evil.se"),
    )

    assert response.context["adminform"].form.has_error("first_name", "invisible_character")
    booking.refresh_from_db()
    assert booking.first_name == "Anna"


@pytest.mark.parametrize(("stored", "sent"), NAMES_KEPT.items())
def test_names_are_kept_as_nfc_with_emoji_joiners(client, api_key, slot_viewing, stored, sent):
    response = api_post(client, api_key, first_name=sent)

    assert response.status_code == 202
    assert Booking.objects.get().first_name == stored


# --- message -------------------------------------------------------------------------------


def test_api_refuses_a_message_over_2000_characters(client, api_key, slot_viewing):
    response = api_post(client, api_key, message="x" * 2001)

    assert response.status_code == 400
    assert "message" in response.json()["error"]["fields"]
    assert not Booking.objects.exists()


def test_api_takes_a_message_of_2000_characters(client, api_key, slot_viewing):
    assert api_post(client, api_key, message="å" * 2000).status_code == 202


def test_page_refuses_a_message_over_2000_characters(client, slot_viewing):
    response = post_booking_page(client, slot_viewing, message="x" * 1_000_000)

    assert response.context["form"].has_error("message")
    assert 'maxlength="2000"' in response.content.decode()
    assert not Booking.objects.exists()


def test_admin_form_refuses_a_message_over_2000_characters(admin_client, slot_viewing):
    response = admin_add(admin_client, slot_viewing, message="x" * 2001)

    assert response.context["adminform"].form.has_error("message")
    assert not Booking.objects.exists()


def test_model_validation_refuses_a_message_over_2000_characters(slot_viewing):
    booking = make_booking(slot_viewing, slot_viewing.slots.get(provider_slot_id="slot-open"))
    booking.message = "x" * 2001

    with pytest.raises(ValidationError) as refused:
        booking.full_clean()

    assert "message" in refused.value.message_dict


def test_openapi_document_names_the_limits(client):
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]

    assert schema["BookingRequest"]["properties"]["message"]["maxLength"] == 2000
    assert "duplicate_booking" in schema["ErrorCode"]["enum"]


# --- provider ids ---------------------------------------------------------------------

BAD_PROVIDER_IDS = [
    ".",
    "..",
    "a/b",
    "../x",
    "a\\b",
    "a?b",
    "a#b",
    "a%2Fb",
    "a b",
    "a\tb",
    "a\x00b",
]


@pytest.mark.parametrize("broker_id", BAD_PROVIDER_IDS)
def test_provider_id_validator_refuses_path_changing_values(broker_id):
    with pytest.raises(ValidationError):
        validate_provider_id(broker_id)


@pytest.mark.parametrize("broker_id", ["MSP-1001", "3f9c2a1e-77b0-4c2e", "a.b", "..a", "Öster_1"])
def test_provider_id_validator_takes_ordinary_ids(broker_id):
    validate_provider_id(broker_id)


@pytest.mark.parametrize(
    ("model", "field"),
    [
        (Viewing, "provider_viewing_id"),
        (Viewing, "mspecs_deal_id"),
        (ViewingSlot, "provider_slot_id"),
        (ProviderCredential, "vitec_customer_id"),
        (ProviderCredential, "vitec_lead_source_id"),
    ],
)
def test_every_provider_id_field_is_validated(model, field):
    assert validate_provider_id in model._meta.get_field(field).validators


@pytest.mark.parametrize("viewing_id", ["..", "a/b"])
def test_viewing_admin_refuses_a_path_changing_viewing_id(admin_client, viewing_id):
    agency = make_agency()

    response = admin_client.post(
        reverse("admin:bookings_viewing_add"),
        {
            "agency": agency.pk,
            "provider_viewing_id": viewing_id,
            "viewing_type": Viewing.Type.ORDINARY,
            "title": "Storgatan 1",
            "starts_at_0": "2030-01-01",
            "starts_at_1": "17:00",
            "ends_at_0": "2030-01-01",
            "ends_at_1": "18:00",
            "is_open": "on",
            "slots-TOTAL_FORMS": "0",
            "slots-INITIAL_FORMS": "0",
        },
    )

    assert response.context["adminform"].form.has_error("provider_viewing_id")
    assert not Viewing.objects.exists()


def test_credential_validation_refuses_a_path_changing_customer_id(db):
    credential = make_agency(Provider.VITEC).credential
    credential.vitec_customer_id = ".."

    with pytest.raises(ValidationError) as refused:
        credential.full_clean()

    assert "vitec_customer_id" in refused.value.message_dict


# --- NUL bytes in admin query parameters ---------------------------------------------------

NUL_URLS = {
    "booking search": ("admin:bookings_booking_changelist", {"q": "\x00"}),
    "booking field filter": ("admin:bookings_booking_changelist", {"email": "\x00"}),
    "booking list filter": ("admin:bookings_booking_changelist", {"status__exact": "a\x00"}),
    "viewing search": ("admin:bookings_viewing_changelist", {"q": "x\x00"}),
    "quarantine search": ("admin:quarantine_mirror", {"q": "\x00"}),
    "parameter name": ("admin:bookings_booking_changelist", {"e\x00mail": "a"}),
}


@pytest.fixture(params=["superuser", "staff"])
def signed_in(request, client):
    agency = make_agency()
    make_viewing(agency)
    user = make_staff_user(agency)
    if request.param == "superuser":
        user.is_superuser = True
        user.save()
    client.force_login(user)
    return client


@pytest.mark.parametrize(("url_name", "params"), NUL_URLS.values(), ids=NUL_URLS.keys())
def test_nul_byte_in_an_admin_query_parameter_is_400(signed_in, url_name, params):
    # On PostgreSQL these were a 500 (NUL cannot be in a text value); 400 on every database.
    response = signed_in.get(reverse(url_name), params)

    assert response.status_code == 400


def test_admin_search_without_nul_still_works(signed_in):
    response = signed_in.get(reverse("admin:bookings_booking_changelist"), {"q": "anna"})

    assert response.status_code == 200


@pytest.mark.postgres
def test_postgresql_refuses_a_nul_byte_in_text_which_made_these_a_500(db):
    with pytest.raises(DataError, match="NUL"):
        Booking.objects.filter(email="\x00").exists()


# --- email domains -------------------------------------------------------------------------

# Addresses Django's EmailValidator takes and the providers refuse.
NOT_PUBLIC_EMAILS = {
    "localhost": "anna@localhost",
    "localhost in capitals": "anna@LOCALHOST",
    "a name under localhost": "anna@dev.localhost",
    "IPv4 literal": "anna@[127.0.0.1]",
    "IPv6 literal": "anna@[IPv6:::1]",
    "undotted host name": "anna@intranet",
}


@pytest.mark.parametrize("email", NOT_PUBLIC_EMAILS.values(), ids=NOT_PUBLIC_EMAILS.keys())
def test_api_refuses_an_email_without_a_public_domain(client, api_key, slot_viewing, email):
    response = api_post(client, api_key, email=email)

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["email"]
    assert not Booking.objects.exists()


@pytest.mark.parametrize("email", NOT_PUBLIC_EMAILS.values(), ids=NOT_PUBLIC_EMAILS.keys())
def test_page_refuses_an_email_without_a_public_domain(client, slot_viewing, email):
    response = post_booking_page(client, slot_viewing, email=email)

    assert response.context["form"].has_error("email", "email_domain")
    assert not Booking.objects.exists()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("email", NOT_PUBLIC_EMAILS.values(), ids=NOT_PUBLIC_EMAILS.keys())
def test_admin_form_refuses_an_email_without_a_public_domain(
    client, slot_viewing, mspecs_agency, role, email
):
    client.force_login(make_user_in_role(role, mspecs_agency))

    response = admin_add(client, slot_viewing, email=email)

    assert response.context["adminform"].form.has_error("email", "email_domain")
    assert not Booking.objects.exists()


def test_admin_change_form_refuses_an_email_without_a_public_domain(admin_client, slot_viewing):
    booking = make_booking(slot_viewing, slot_viewing.slots.get(provider_slot_id="slot-open"))

    response = admin_client.post(
        reverse("admin:bookings_booking_change", args=[booking.pk]),
        admin_booking_data(slot_viewing, booking.slot, email="anna@[127.0.0.1]"),
    )

    assert response.context["adminform"].form.has_error("email", "email_domain")


def test_every_door_takes_an_email_at_a_subdomain(client, api_key, slot_viewing):
    response = api_post(client, api_key, email="anna@mail.example.co.uk")

    assert response.status_code == 202


# --- the admin's viewing field -------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("viewing", ["abc", "1.5", "-1", "1e3"])
def test_admin_add_form_with_a_malformed_viewing_is_a_field_error(
    client, slot_viewing, mspecs_agency, role, viewing
):
    client.force_login(make_user_in_role(role, mspecs_agency))

    slot = slot_viewing.slots.get(provider_slot_id="slot-open")
    data = {**admin_booking_data(slot_viewing, slot), "viewing": viewing}

    response = client.post(reverse("admin:bookings_booking_add"), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.has_error("viewing", "invalid_choice")
    assert not Booking.objects.exists()


def test_admin_change_form_with_a_malformed_viewing_is_a_field_error(admin_client, slot_viewing):
    booking = make_booking(slot_viewing, slot_viewing.slots.get(provider_slot_id="slot-open"))

    response = admin_client.post(
        reverse("admin:bookings_booking_change", args=[booking.pk]),
        {**admin_booking_data(slot_viewing, booking.slot), "viewing": "abc"},
    )

    assert response.context["adminform"].form.has_error("viewing", "invalid_choice")
    booking.refresh_from_db()
    assert booking.viewing == slot_viewing
