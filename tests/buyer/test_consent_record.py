"""What the buyer agreed to is stored once, by intake, and no door edits it
(bookings/consent.py): the sentence's version, the language, the channel and the time; for a
booking staff enter, the lawful basis they chose and who they are."""

import hashlib

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from agencies.models import ApiKey, Membership, Provider
from bookings.consent import consent_text_version
from bookings.delivery.sending import deliver
from bookings.models import Booking
from tests.factories import (
    BUYER,
    admin_booking_data,
    delivered_booking,
    make_staff_user,
    make_three_slot_viewing,
    post_booking_api,
    post_booking_page,
)

pytestmark = pytest.mark.django_db
LawfulBasis = Booking.LawfulBasis


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def agency(make_agency):
    return make_agency(Provider.MSPECS, name="MH", consent_name="Mäklarhuset Uppsala AB")


@pytest.fixture
def viewing(agency):
    return make_three_slot_viewing(agency)


# --- the public page -------------------------------------------------------------------


def test_the_page_records_the_sentence_shown_its_language_channel_and_time(client, viewing):
    before = timezone.now()

    post_booking_page(client, viewing)

    booking = Booking.objects.get()
    assert booking.consent_text_version == sha256(
        "I consent to Mäklarhuset Uppsala AB processing my personal data to handle this booking."
    )
    assert (booking.language, booking.source) == ("en", Booking.Source.PUBLIC_PAGE)
    assert booking.lawful_basis == LawfulBasis.CONSENT
    assert before <= booking.consent_given_at <= timezone.now()
    assert (booking.consent_api_key, booking.entered_by) == (None, None)


def test_a_swedish_page_records_the_swedish_sentences_version(client, viewing):
    client.post(
        reverse("booking-page", args=[viewing.public_id]),
        {**BUYER, "slot": "slot-open", "consent": "on", "website": ""},
    )

    booking = Booking.objects.get()
    assert booking.language == "sv"
    assert booking.consent_text_version == sha256(
        "Jag samtycker till att Mäklarhuset Uppsala AB behandlar mina personuppgifter för att "
        "hantera bokningen."
    )


def test_a_new_wording_or_name_is_a_new_version(agency):
    before = consent_text_version(agency, "sv")
    agency.consent_name = "Mäklarhuset i Uppsala AB"

    assert consent_text_version(agency, "sv") != before
    assert consent_text_version(agency, "sv") != consent_text_version(agency, "en")


def test_the_page_shows_the_agency_the_sentence_naming_it_and_its_privacy_policy(
    client, viewing, agency
):
    agency.privacy_policy_url = "https://maklarhuset.example.se/integritet"
    agency.save()

    text = client.get(
        reverse("booking-page", args=[viewing.public_id]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert '<p class="agency">MH</p>' in text
    assert "I consent to Mäklarhuset Uppsala AB processing my personal data" in text
    assert 'href="https://maklarhuset.example.se/integritet"' in text


def test_the_consent_sentence_uses_the_agency_name_when_no_consent_name_is_set(client, make_agency):
    viewing = make_three_slot_viewing(make_agency(name="Mäklarhuset"))

    text = client.get(
        reverse("booking-page", args=[viewing.public_id]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert "I consent to Mäklarhuset processing my personal data" in text


def test_a_consent_time_posted_to_the_page_is_ignored(client, viewing):
    post_booking_page(client, viewing, consent_given_at="2001-01-01T00:00:00Z")

    assert Booking.objects.get().consent_given_at.year == timezone.now().year


# --- the JSON API ----------------------------------------------------------------------


def test_the_api_records_the_integrators_key_as_the_channel(client, api_key, slot_viewing):
    response = post_booking_api(client, api_key, url="/api/v1/viewings/view-1/bookings")

    assert response.status_code == 202, response.content
    booking = Booking.objects.get()
    assert booking.source == Booking.Source.API
    assert booking.consent_api_key == ApiKey.authenticate(api_key)
    assert booking.lawful_basis == LawfulBasis.CONSENT
    assert booking.consent_given_at is not None
    assert booking.consent_text_version == consent_text_version(booking.agency, "en")


def test_the_api_takes_the_buyers_language_from_the_request(client, api_key, slot_viewing):
    post_booking_api(client, api_key, language="sv")

    booking = Booking.objects.get()
    assert booking.language == "sv"
    assert booking.consent_text_version == consent_text_version(booking.agency, "sv")


@pytest.mark.parametrize("consent", [False, "true", 1, None])
def test_the_api_refuses_a_booking_without_consent_true(client, api_key, slot_viewing, consent):
    response = post_booking_api(client, api_key, consent=consent)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "consent" in response.json()["error"]["fields"]
    assert not Booking.objects.exists()


@pytest.mark.parametrize("language", ["de", "", "sv\x00", "x" * 500, 7])
def test_the_api_refuses_an_unknown_language(client, api_key, slot_viewing, language):
    response = post_booking_api(client, api_key, language=language)

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"language"}
    assert not Booking.objects.exists()


def test_the_api_refuses_a_consent_time_it_does_not_take(client, api_key, slot_viewing):
    response = post_booking_api(client, api_key, consent_given_at="2001-01-01T00:00:00Z")

    assert response.status_code == 400
    assert not Booking.objects.exists()


def test_the_openapi_document_asks_for_consent_true_and_names_the_status_link(client):
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]

    assert schemas["BookingRequest"]["properties"]["consent"]["const"] is True
    assert "consent" in schemas["BookingRequest"]["required"]
    assert "buyer_status_url" in schemas["Booking"]["required"]


# --- staff entering a booking ----------------------------------------------------------

ROLES = ["superuser", "administrator", "staff", "staff here, administrator elsewhere"]


@pytest.fixture
def signed_in(client, admin_user, agency, make_agency):
    def sign_in(role):
        if role == "superuser":
            user = admin_user
        elif role == "administrator":
            user = make_staff_user(agency, role=Membership.Role.ADMIN)
        else:
            user = make_staff_user(agency)
            if role != "staff":
                Membership.objects.create(
                    user=user, agency=make_agency(), role=Membership.Role.ADMIN
                )
        client.force_login(user)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return user

    return sign_in


@pytest.mark.parametrize("role", ROLES)
def test_staff_entering_a_booking_record_the_lawful_basis_and_themselves(
    client, signed_in, viewing, role
):
    user = signed_in(role)
    slot = viewing.slots.get(provider_slot_id="slot-open")

    response = client.post(
        reverse("admin:bookings_booking_add"),
        admin_booking_data(viewing, slot, lawful_basis="asked_in_person", language="en"),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    booking = Booking.objects.get()
    assert booking.lawful_basis == LawfulBasis.ASKED_IN_PERSON
    assert booking.entered_by == user
    assert (booking.source, booking.language) == (Booking.Source.ADMIN, "en")
    # Nothing was agreed to on a page: no consent time to send on (Vitec's gdprApprovalDate).
    assert (booking.consent_given_at, booking.consent_text_version) == (None, "")


def test_the_add_form_offers_only_the_ways_a_buyer_asks_staff(client, signed_in, viewing):
    signed_in("staff")
    add_page = f"{reverse('admin:bookings_booking_add')}?viewing={viewing.pk}"

    form = client.get(add_page).context["adminform"].form

    assert [value for value, label in form.fields["lawful_basis"].choices] == [
        "",
        "asked_by_phone",
        "asked_in_person",
        "asked_by_email",
    ]
    assert "consent_given_at" not in form.fields


@pytest.mark.parametrize("lawful_basis", ["", "consent", "asked_by_fax", "x" * 500, "a\x00b"])
def test_staff_must_choose_how_the_buyer_asked(client, signed_in, viewing, lawful_basis):
    signed_in("staff")
    slot = viewing.slots.get(provider_slot_id="slot-open")

    response = client.post(
        reverse("admin:bookings_booking_add"),
        admin_booking_data(viewing, slot, lawful_basis=lawful_basis),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.has_error("lawful_basis")
    assert not Booking.objects.exists()


def test_staff_cannot_back_date_consent_when_entering_a_booking(client, signed_in, viewing):
    signed_in("staff")
    slot = viewing.slots.get(provider_slot_id="slot-open")

    client.post(
        reverse("admin:bookings_booking_add"),
        admin_booking_data(viewing, slot, consent_given_at="2001-01-01 00:00:00"),
    )

    assert Booking.objects.get().consent_given_at is None


@pytest.mark.parametrize("role", ROLES)
def test_no_role_can_edit_the_consent_record(client, signed_in, agency, role):
    signed_in(role)
    consent_at = timezone.now().replace(microsecond=0)
    booking = delivered_booking(
        agency,
        lawful_basis=LawfulBasis.CONSENT,
        consent_given_at=consent_at,
        consent_text_version="a" * 64,
        language="sv",
    )
    url = reverse("admin:bookings_booking_change", args=[booking.pk])

    form = client.get(url).content.decode()
    client.post(
        url,
        {
            **admin_booking_data(booking.viewing, booking.slot),
            "lawful_basis": "asked_by_phone",
            "language": "en",
            "consent_given_at": "2001-01-01 00:00:00",
            "consent_text_version": "forged",
            "entered_by": "1",
        },
    )

    for field in ["consent_given_at", "consent_text_version", "lawful_basis", "language"]:
        assert f'name="{field}"' not in form
    booking.refresh_from_db()
    assert booking.consent_given_at == consent_at
    assert booking.consent_text_version == "a" * 64
    assert (booking.lawful_basis, booking.language, booking.entered_by) == ("consent", "sv", None)


# --- Vitec's gdprApprovalDate ------------------------------------------------------------


def test_vitec_gets_the_stored_consent_time_of_a_page_booking(client, make_agency, sandbox):
    viewing = make_three_slot_viewing(make_agency(Provider.VITEC, sandbox=sandbox))
    post_booking_page(client, viewing)
    booking = Booking.objects.get()

    assert deliver(booking.pk) == "delivered"

    [received] = sandbox.received("vitec")
    stored = booking.consent_given_at.isoformat()
    assert received["body"]["updatePerson"]["gdprApprovalDate"] == stored


# --- the agency's set-up -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["http://maklarhuset.example.se/integritet", "javascript:alert(1)", "ftp://x.se/p"]
)
def test_the_privacy_policy_must_be_an_https_address(agency, url):
    agency.privacy_policy_url = url

    with pytest.raises(ValidationError) as refused:
        agency.full_clean()

    assert "privacy_policy_url" in refused.value.message_dict


def test_an_administrator_sets_the_consent_name_policy_and_email_switch(client, signed_in, agency):
    signed_in("administrator")
    url = reverse("admin:agencies_agency_change", args=[agency.pk])
    data = {
        "name": agency.name,
        "slug": agency.slug,
        "provider": agency.provider,
        "phone_region": "SE",
        "is_active": "on",
        "consent_name": "Mäklarhuset Uppsala AB",
        "privacy_policy_url": "https://maklarhuset.example.se/integritet",
        # buyer_emails_enabled left out: unticked
    }

    response = client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    agency.refresh_from_db()
    assert agency.consent_name == "Mäklarhuset Uppsala AB"
    assert agency.privacy_policy_url == "https://maklarhuset.example.se/integritet"
    assert agency.buyer_emails_enabled is False


def test_an_administrator_cannot_set_an_http_privacy_policy(client, signed_in, agency):
    signed_in("administrator")
    url = reverse("admin:agencies_agency_change", args=[agency.pk])

    response = client.post(
        url,
        {
            "name": agency.name,
            "slug": agency.slug,
            "provider": agency.provider,
            "phone_region": "SE",
            "privacy_policy_url": "http://maklarhuset.example.se/integritet",
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.has_error("privacy_policy_url")


def test_staff_cannot_change_the_agencys_consent_set_up(client, signed_in, agency):
    signed_in("staff")

    client.post(
        reverse("admin:agencies_agency_change", args=[agency.pk]),
        {"name": agency.name, "slug": agency.slug, "consent_name": "Someone Else AB"},
    )

    agency.refresh_from_db()
    assert agency.consent_name == "Mäklarhuset Uppsala AB"


def test_the_english_sentence_is_the_source_text(agency):
    with translation.override("en"):
        from bookings.consent import consent_sentence

        assert consent_sentence(agency) == (
            "I consent to Mäklarhuset Uppsala AB processing my personal data to handle this "
            "booking."
        )
