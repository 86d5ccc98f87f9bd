"""A booking the agency's provider would refuse for a field's length is refused at
every door before it is saved, in the buyer's language; the limits come from the
plug-in's contract (MSPECS: firstName and lastName 60, email 80, phoneNumber 25; Vitec:
email.emailAddress 100)."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from agencies.models import ApiKey, Provider
from bookings.delivery.sending import deliver
from bookings.models import Booking
from bookings.providers import plugin_for
from bookings.providers.base import BuyerConfirmation, ProviderPlugin
from bookings.providers.contracts import Contract
from bookings.providers.vitec.client import VitecClient
from tests.factories import (
    BUYER,
    ROLES,
    admin_booking_data,
    make_agency,
    make_booking,
    make_three_slot_viewing,
    make_user_in_role,
    post_booking_api,
    post_booking_page,
    unsaved_booking,
)

pytestmark = pytest.mark.django_db

MSPECS = plugin_for(Provider.MSPECS)
VITEC = plugin_for(Provider.VITEC)
EMAIL_DOMAIN = "@example.se"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def email_of_length(length: int) -> str:
    return "a" * (length - len(EMAIL_DOMAIN)) + EMAIL_DOMAIN


def over_limit_message(limit: int, length: int) -> str:
    return f"At most {limit} characters: the agency's system takes no more (this has {length})."


# --- the limits are the contract's ----------------------------------------------------------


def test_mspecs_limits_are_its_external_viewer_schemas_lengths():
    schema = MSPECS.contract.schema("external_viewer")

    assert MSPECS.field_limits == {
        "first_name": schema["properties"]["firstName"]["maxLength"],
        "last_name": schema["properties"]["lastName"]["maxLength"],
        "email": schema["properties"]["email"]["maxLength"],
        "phone": schema["properties"]["phoneNumber"]["maxLength"],
    }
    assert MSPECS.field_limits == {"first_name": 60, "last_name": 60, "email": 80, "phone": 25}


def test_vitecs_limit_is_its_participant_schemas_email_length():
    person = VITEC.contract.schema("participant")["$defs"]["updatePerson"]["properties"]

    assert VITEC.field_limits == {
        "email": person["email"]["properties"]["emailAddress"]["maxLength"]
    }
    assert VITEC.field_limits == {"email": 100}


def test_limits_of_a_nested_request_follow_refs_and_take_the_shortest(tmp_path):
    (tmp_path / "person.schema.json").write_text(
        json.dumps(
            {
                "$schema": DRAFT,
                "$defs": {"name": {"type": "string", "maxLength": 50}},
                "type": "object",
                "properties": {
                    "firstName": {"$ref": "#/$defs/name"},
                    "email": {
                        "type": "object",
                        "properties": {"emailAddress": {"type": "string", "maxLength": 90}},
                    },
                },
            }
        )
    )
    (tmp_path / "participant.schema.json").write_text(
        json.dumps(
            {
                "$schema": DRAFT,
                "type": "object",
                "properties": {
                    "updatePerson": {"$ref": "person.schema.json"},
                    "contactMessage": {"type": "string", "maxLength": 500},
                    "others": {"type": "array", "items": {"$ref": "person.schema.json"}},
                    "firstName": {"type": "string", "maxLength": 70},
                },
            }
        )
    )
    plugin = ProviderPlugin(
        system="third",
        client_class=VitecClient,
        contract=Contract(tmp_path),
        buyer_confirmation=lambda credential: BuyerConfirmation.NONE,
        delivery_schema="participant",
    )

    assert plugin.field_limits == {"first_name": 50, "email": 90, "message": 500}


# --- the public page -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "limit", "value"),
    [
        ("first_name", 60, "Å" * 61),
        ("last_name", 60, "b" * 61),
        ("email", 80, email_of_length(81)),
    ],
)
def test_page_refuses_one_over_the_limit_on_the_field(client, slot_viewing, field, limit, value):
    response = post_booking_page(client, slot_viewing, **{field: value})

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [over_limit_message(limit, limit + 1)]
    assert not Booking.objects.exists()


def test_page_takes_every_field_exactly_at_its_limit(client, slot_viewing):
    response = post_booking_page(
        client,
        slot_viewing,
        first_name="Å" * 60,
        last_name="b" * 60,
        email=email_of_length(80),
    )

    assert response.status_code == 302
    booking = Booking.objects.get()
    assert (len(booking.first_name), len(booking.last_name), len(booking.email)) == (60, 60, 80)


def test_page_says_it_in_swedish(client, slot_viewing):
    response = client.post(
        reverse("booking-page", args=[slot_viewing.public_id]),
        {**BUYER, "slot": "slot-open", "consent": "on", "website": "", "first_name": "x" * 75},
        HTTP_ACCEPT_LANGUAGE="sv",
    )

    assert response.context["form"].errors["first_name"] == [
        "Högst 60 tecken: byråns system tar inte emot fler (här är det 75)."
    ]
    assert "Högst 60 tecken" in response.content.decode()
    assert not Booking.objects.exists()


NORMALISED_WITHIN = {
    # Counted as sent: NFC, without surrounding space, in code points (JSON Schema's
    # maxLength), so what shrinks on normalising is measured after it.
    "decomposed å": ("first_name", "A\u030a" * 20 + "x" * 40),
    "surrounding space": ("last_name", "   " + "b" * 60 + "   "),
    "upper-case email with spaces": ("email", "  " + email_of_length(80).upper() + " "),
    "emoji with joiners (3 code points each)": ("first_name", "👩\u200d💻" * 20),
}


@pytest.mark.parametrize(("field", "value"), NORMALISED_WITHIN.values(), ids=NORMALISED_WITHIN)
def test_page_measures_the_value_as_it_is_sent(client, slot_viewing, field, value):
    response = post_booking_page(client, slot_viewing, **{field: value})

    assert response.status_code == 302, response.context["form"].errors
    assert Booking.objects.count() == 1


def test_a_phone_typed_over_25_characters_is_measured_in_e164(client, slot_viewing):
    typed = "+46 70 - 111  11  11 " + " " * 10

    response = post_booking_page(client, slot_viewing, phone=typed)

    assert len(typed) > 25
    assert response.status_code == 302
    assert Booking.objects.get().phone == "+46701111111"


def test_one_emoji_over_the_limit_is_refused(client, slot_viewing):
    response = post_booking_page(client, slot_viewing, first_name="👩\u200d💻" * 21)

    assert response.context["form"].errors["first_name"] == [over_limit_message(60, 63)]


@pytest.mark.parametrize(
    "value", ["x" * 10_000, "Eve\n" + "x" * 70, "\x00" * 61], ids=["very long", "newline", "nul"]
)
def test_page_refuses_hostile_long_names_with_a_message_and_saves_nothing(
    client, slot_viewing, value
):
    response = post_booking_page(client, slot_viewing, first_name=value)

    assert response.status_code == 200
    assert response.context["form"].errors["first_name"]
    assert not Booking.objects.exists()


def test_a_vitec_agency_takes_a_name_over_mspecs_limit(client):
    viewing = make_three_slot_viewing(make_agency(Provider.VITEC))

    response = post_booking_page(client, viewing, first_name="x" * 61)

    assert response.status_code == 302


# --- the JSON API ----------------------------------------------------------------------------


def test_api_refuses_one_over_with_400_naming_the_field(client, api_key, slot_viewing):
    response = post_booking_api(client, api_key, last_name="b" * 61, email=email_of_length(81))

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {
        "last_name": [over_limit_message(60, 61)],
        "email": [over_limit_message(80, 81)],
    }
    assert not Booking.objects.exists()


def test_api_takes_exactly_at_the_limit(client, api_key, slot_viewing):
    response = post_booking_api(client, api_key, first_name="n" * 60, email=email_of_length(80))

    assert response.status_code == 202


def test_api_says_it_in_swedish(client, api_key, slot_viewing):
    response = client.post(
        "/api/v1/viewings/view-1/bookings",
        json.dumps({**BUYER, "slot": "slot-open", "consent": True, "first_name": "n" * 61}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
        HTTP_ACCEPT_LANGUAGE="sv",
    )

    assert response.json()["error"]["fields"]["first_name"] == [
        "Högst 60 tecken: byråns system tar inte emot fler (här är det 61)."
    ]


def test_api_document_states_the_contracts_limits(client):
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]

    description = schema["BookingRequest"]["properties"]["first_name"]["description"]
    assert "MSPECS: first_name 60, last_name 60, email 80, phone 25" in description
    assert "Vitec Express: email 100" in description


# --- a Vitec agency: the email at most 100 characters (its participant schema) ---------------


@pytest.fixture
def vitec_viewing(db):
    return make_three_slot_viewing(make_agency(Provider.VITEC))


@pytest.fixture
def vitec_api_key(vitec_viewing):
    return ApiKey.issue(vitec_viewing.agency, "Website")[1]


def test_vitec_page_takes_an_email_of_exactly_100_characters(client, vitec_viewing):
    response = post_booking_page(client, vitec_viewing, email=email_of_length(100))

    assert response.status_code == 302
    assert len(Booking.objects.get().email) == 100


def test_vitec_page_refuses_an_email_of_101_characters_beside_it(client, vitec_viewing):
    response = post_booking_page(client, vitec_viewing, email=email_of_length(101))

    assert response.status_code == 200
    assert response.context["form"].errors["email"] == [over_limit_message(100, 101)]
    assert not Booking.objects.exists()


def test_vitec_page_says_it_in_swedish(client, vitec_viewing):
    response = client.post(
        reverse("booking-page", args=[vitec_viewing.public_id]),
        {
            **BUYER,
            "slot": "slot-open",
            "consent": "on",
            "website": "",
            "email": email_of_length(120),
        },
        HTTP_ACCEPT_LANGUAGE="sv",
    )

    assert response.context["form"].errors["email"] == [
        "Högst 100 tecken: byråns system tar inte emot fler (här är det 120)."
    ]
    assert not Booking.objects.exists()


def test_vitec_api_takes_an_email_of_exactly_100_characters(client, vitec_api_key):
    response = post_booking_api(client, vitec_api_key, email=email_of_length(100))

    assert response.status_code == 202


def test_vitec_api_refuses_an_email_of_101_characters_with_400_naming_it(client, vitec_api_key):
    response = post_booking_api(client, vitec_api_key, email=email_of_length(101))

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"email": [over_limit_message(100, 101)]}
    assert not Booking.objects.exists()


def test_vitec_api_says_it_in_swedish(client, vitec_api_key):
    response = client.post(
        "/api/v1/viewings/view-1/bookings",
        json.dumps({**BUYER, "slot": "slot-open", "consent": True, "email": email_of_length(101)}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {vitec_api_key}",
        HTTP_ACCEPT_LANGUAGE="sv",
    )

    assert response.json()["error"]["fields"]["email"] == [
        "Högst 100 tecken: byråns system tar inte emot fler (här är det 101)."
    ]


# --- the admin's form, for every role ----------------------------------------------------------


@pytest.fixture(params=ROLES)
def staff_client(request, client, slot_viewing):
    client.force_login(make_user_in_role(request.param, slot_viewing.agency))
    return client


def admin_add(client, viewing, language="en", **fields):
    return client.post(
        reverse("admin:bookings_booking_add"),
        admin_booking_data(viewing, viewing.slots.get(provider_slot_id="slot-open"), **fields),
        HTTP_ACCEPT_LANGUAGE=language,
    )


def test_admin_add_refuses_one_over_beside_the_field(staff_client, slot_viewing):
    response = admin_add(staff_client, slot_viewing, first_name="f" * 61)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["first_name"] == [over_limit_message(60, 61)]
    assert not Booking.objects.exists()


def test_admin_add_takes_exactly_at_the_limit(staff_client, slot_viewing):
    response = admin_add(staff_client, slot_viewing, first_name="f" * 60, last_name="l" * 60)

    assert response.status_code == 302
    assert Booking.objects.count() == 1


def test_admin_add_says_it_in_swedish(admin_client, slot_viewing):
    response = admin_add(admin_client, slot_viewing, language="sv", email=email_of_length(90))

    assert response.context["adminform"].form.errors["email"] == [
        "Högst 80 tecken: byråns system tar inte emot fler (här är det 90)."
    ]


def test_a_rejected_bookings_name_from_before_the_rule_must_be_shortened_to_resend(
    staff_client, slot_viewing
):
    slot = slot_viewing.slots.get(provider_slot_id="slot-open")
    booking = make_booking(
        slot_viewing, slot, first_name="f" * 70, email="anna@example.se", status="rejected"
    )
    change_url = reverse("admin:bookings_booking_change", args=[booking.pk])
    data = admin_booking_data(slot_viewing, slot, email="anna@example.se", first_name="f" * 70)

    refused = staff_client.post(
        change_url, {**data, "_save_and_resend": "1"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    saved = staff_client.post(
        change_url, {**data, "first_name": "Fia", "_save": "1"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert refused.context["adminform"].form.errors["first_name"] == [over_limit_message(60, 70)]
    assert saved.status_code == 302
    booking.refresh_from_db()
    assert booking.first_name == "Fia"


# --- the model: what every door and command (manage.py demo) runs ----------------------------


def test_full_clean_refuses_one_over_before_anything_is_saved(slot_viewing):
    booking = unsaved_booking(
        slot_viewing,
        slot_viewing.slots.get(provider_slot_id="slot-open"),
        first_name="x" * 61,
        last_name="y" * 61,
    )

    with pytest.raises(ValidationError) as error:
        booking.full_clean()

    assert error.value.message_dict == {
        "first_name": [over_limit_message(60, 61)],
        "last_name": [over_limit_message(60, 61)],
    }
    assert error.value.error_dict["first_name"][0].code == "broker_limit"


def test_a_delivered_booking_is_not_measured_again(slot_viewing):
    booking = make_booking(
        slot_viewing,
        slot_viewing.slots.get(provider_slot_id="slot-open"),
        first_name="x" * 70,
        status=Booking.Status.DELIVERED,
    )

    booking.full_clean()  # it is in the provider already: nothing more to refuse


# --- what reaches the provider ------------------------------------------------------------


def test_a_booking_at_every_limit_is_delivered_in_the_contracts_shape(make_agency, sandbox):
    agency = make_agency(Provider.MSPECS)
    booking = unsaved_booking(
        make_booking(agency).viewing,
        first_name="Å" * 60,
        last_name="b" * 60,
        email=email_of_length(80),
        phone="+46 70 111 11 11",
    )
    booking.full_clean()
    booking.save()

    assert deliver(booking.pk) == "delivered"

    sent = sandbox.received("mspecs")[-1]["body"]
    assert MSPECS.contract.violations("external_viewer", sent) == []
    assert (sent["firstName"], sent["email"]) == ("Å" * 60, email_of_length(80))


def test_a_vitec_booking_at_the_limit_is_delivered_in_the_contracts_shape(make_agency, sandbox):
    booking = unsaved_booking(
        make_booking(make_agency(Provider.VITEC)).viewing, email=email_of_length(100)
    )
    booking.slot = booking.viewing.slots.get()
    booking.full_clean()
    booking.save()

    assert deliver(booking.pk) == "delivered"

    sent = sandbox.received("vitec")[-1]["body"]
    assert VITEC.contract.violations("participant", sent) == []
    assert sent["updatePerson"]["email"]["emailAddress"] == email_of_length(100)


def test_one_over_would_break_the_contract_our_client_sends_by(make_agency, sandbox):
    # What intake refuses is what the schema refuses: the two agree on the count.
    agency = make_agency(Provider.MSPECS)
    booking = make_booking(agency, first_name="Å" * 61)
    client_class = MSPECS.client_class

    body = client_class(agency.credential).delivery_request(booking)[1]

    [violation] = MSPECS.contract.violations("external_viewer", body)
    assert violation.field == "firstName"
