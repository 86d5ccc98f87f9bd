from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.urls import reverse
from django.utils import timezone, translation

from agencies.models import Provider
from bookings.models import Booking, Viewing
from tests.factories import BUYER, make_agency, make_three_slot_viewing

pytestmark = pytest.mark.django_db


def page_url(viewing: Viewing) -> str:
    return reverse("booking-page", args=[viewing.public_id])


def form_data(**overrides) -> dict:
    return {**BUYER, "slot": "slot-open", "consent": "on", "website": "", **overrides}


def test_page_shows_the_property_and_only_upcoming_slots(client, slot_viewing):
    response = client.get(page_url(slot_viewing))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Storgatan 1, 3 rok" in html
    assert 'value="slot-open"' in html
    assert "slot-past" not in html


def test_full_slot_is_shown_as_full_and_cannot_be_selected(client, slot_viewing):
    html = client.get(page_url(slot_viewing)).content.decode()

    full_input = html[html.index('value="slot-full"') :].split(">", 1)[0]
    assert "disabled" in full_input
    assert "Fullbokad" in html


def test_page_is_swedish_by_default_and_english_by_browser_language(client, slot_viewing):
    swedish = client.get(page_url(slot_viewing)).content.decode()
    english = client.get(page_url(slot_viewing), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Förnamn" in swedish and 'lang="sv"' in swedish
    assert "First name" in english and 'lang="en"' in english


def test_language_switch_sets_english(client, slot_viewing):
    client.post(reverse("set_language"), {"language": "en", "next": page_url(slot_viewing)})

    assert "First name" in client.get(page_url(slot_viewing)).content.decode()


def test_closed_viewing_is_gone_and_unknown_viewing_is_not_found(client, slot_viewing):
    Viewing.objects.filter(pk=slot_viewing.pk).update(is_open=False)

    assert client.get(page_url(slot_viewing)).status_code == 410
    assert client.get("/book/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_ended_viewing_is_gone(client, slot_viewing):
    Viewing.objects.filter(pk=slot_viewing.pk).update(
        starts_at=timezone.now() - timedelta(hours=2), ends_at=timezone.now() - timedelta(hours=1)
    )

    assert client.get(page_url(slot_viewing)).status_code == 410


def test_booking_is_queued_normalised_and_confirmed(client, slot_viewing):
    response = client.post(page_url(slot_viewing), form_data(), follow=True)

    booking = Booking.objects.get()
    assert (booking.first_name, booking.email, booking.phone) == (
        "Anna",
        "anna@example.se",
        "+46701111111",
    )
    assert booking.slot.provider_slot_id == "slot-open"
    assert booking.status == Booking.Status.QUEUED
    assert booking.source == Booking.Source.PUBLIC_PAGE
    assert booking.consent_given_at is not None
    assert "Din bokning är mottagen" in response.content.decode()


def test_vitec_confirmation_follows_the_configured_channels(client):
    agency = make_agency(Provider.VITEC)
    agency.credential.vitec_mail_confirmation = False
    agency.credential.vitec_sms_confirmation = True
    agency.credential.save()
    viewing = make_three_slot_viewing(agency)

    response = client.post(page_url(viewing), form_data(), follow=True)

    assert "bekräftar mäklarsystemet den till dig via sms. Till dess är inget bekräftat." in (
        response.content.decode()
    )


def test_booking_without_consent_is_refused_and_keeps_the_values(client, slot_viewing):
    response = client.post(page_url(slot_viewing), form_data(consent=""))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Du måste samtycka innan du kan boka." in html
    assert 'value="Andersson"' in html
    assert 'value="slot-open" autocomplete="off"\n            \n            checked' in html
    assert not Booking.objects.exists()


def test_field_errors_are_in_the_buyers_language(client, slot_viewing):
    with translation.override("en"):
        response = client.post(
            page_url(slot_viewing), form_data(phone="12"), HTTP_ACCEPT_LANGUAGE="en"
        )

    assert "Enter a valid phone number" in response.content.decode()
    assert not Booking.objects.exists()


def test_phone_error_is_swedish_by_default(client, slot_viewing):
    response = client.post(page_url(slot_viewing), form_data(phone="12"))

    assert "Ange ett giltigt telefonnummer" in response.content.decode()


def test_full_slot_is_refused(client, slot_viewing):
    response = client.post(page_url(slot_viewing), form_data(slot="slot-full"))

    assert "fullbokad" in response.content.decode()
    assert not Booking.objects.exists()


def test_past_slot_is_refused(client, slot_viewing):
    response = client.post(page_url(slot_viewing), form_data(slot="slot-past"))

    assert "Den tiden har passerat" in response.content.decode()
    assert not Booking.objects.exists()


def test_ordinary_viewing_books_without_a_slot(client, ordinary_viewing):
    data = form_data()
    del data["slot"]

    client.post(page_url(ordinary_viewing), data)

    assert Booking.objects.get().slot is None


def test_filled_honeypot_saves_nothing(client, slot_viewing):
    response = client.post(page_url(slot_viewing), form_data(website="http://spam.example"))

    assert response.status_code == 200
    assert not Booking.objects.exists()


def test_same_email_twice_books_once_and_says_it_was_already_received(client, slot_viewing):
    client.post(page_url(slot_viewing), form_data())

    second = client.post(
        page_url(slot_viewing), form_data(email=" ANNA@example.se"), HTTP_ACCEPT_LANGUAGE="en"
    )

    assert Booking.objects.count() == 1
    assert second.status_code == 200
    assert "already received" in second.content.decode()


def test_duplicate_page_reveals_nothing_of_the_earlier_booking(client, slot_viewing):
    client.post(
        page_url(slot_viewing),
        form_data(first_name="Earlier", last_name="Buyer", phone="070-999 88 77", message="Hej"),
    )
    earlier = Booking.objects.get()

    html = client.post(page_url(slot_viewing), form_data(first_name="Mallory")).content.decode()

    assert "already received" in html or "redan tagit emot" in html
    for secret in ["Earlier", "Buyer", "999", "+4670999", "anna@example.se", "confirmed"]:
        assert secret not in html
    assert timezone.localtime(earlier.created_at).strftime("%H:%M") not in html


def test_rate_limited_duplicate_does_not_say_the_buyer_booked(client, slot_viewing, settings):
    settings.BOOKING_RATE_LIMIT_PER_IP = 1
    client.post(page_url(slot_viewing), form_data())

    response = client.post(page_url(slot_viewing), form_data(), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 429
    assert "already" not in response.content.decode()


@pytest.mark.parametrize(
    "status", [Booking.Status.REJECTED, Booking.Status.FAILED, Booking.Status.CANCELLED]
)
def test_resubmission_after_a_booking_that_did_not_stand_is_a_new_booking(
    client, slot_viewing, status
):
    client.post(page_url(slot_viewing), form_data(phone="070-999 99 99"))
    first = Booking.objects.get()
    Booking.objects.update(status=status)

    response = client.post(page_url(slot_viewing), form_data())

    corrected = Booking.objects.exclude(pk=first.pk).get()
    assert corrected.phone == "+46701111111"
    assert corrected.status == Booking.Status.QUEUED
    assert response.status_code == 302


def test_post_without_csrf_token_is_refused(slot_viewing):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(page_url(slot_viewing), form_data())

    assert response.status_code == 403
    assert not Booking.objects.exists()


def test_rate_limit_per_ip(client, slot_viewing, settings):
    settings.BOOKING_RATE_LIMIT_PER_IP = 2
    for _ in range(2):
        client.post(page_url(slot_viewing), form_data(phone="12"))

    response = client.post(page_url(slot_viewing), form_data())

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert 'value="Andersson"' in response.content.decode()
    assert not Booking.objects.exists()


def test_rate_limit_says_one_second_in_the_singular(client, slot_viewing, settings, monkeypatch):
    settings.BOOKING_RATE_LIMIT_PER_IP = 0
    settings.BOOKING_RATE_LIMIT_PER_VIEWING = 1
    # One second left of the minute.
    monkeypatch.setattr("bookings.intake.ratelimit.time.time", lambda: 59.5)
    client.post(page_url(slot_viewing), form_data(phone="12"))

    response = client.post(page_url(slot_viewing), form_data(), HTTP_ACCEPT_LANGUAGE="en")

    assert response["Retry-After"] == "1"
    assert "Wait 1 second and send again." in response.content.decode()


def test_rate_limit_per_viewing_spans_addresses(client, slot_viewing, settings):
    settings.BOOKING_RATE_LIMIT_PER_VIEWING = 1
    client.post(page_url(slot_viewing), form_data(phone="12"), REMOTE_ADDR="10.0.0.1")

    response = client.post(page_url(slot_viewing), form_data(), REMOTE_ADDR="10.0.0.2")

    assert response.status_code == 429


def test_confirmation_with_a_forged_token_is_not_found(client, slot_viewing):
    url = reverse("buyer-status", args=["1:forged"])

    assert client.get(url).status_code == 404


def test_viewing_admin_links_to_the_public_page(admin_client, slot_viewing):
    response = admin_client.get(reverse("admin:bookings_viewing_change", args=[slot_viewing.pk]))

    assert f'href="{page_url(slot_viewing)}"' in response.content.decode()


def test_confirmation_page_does_not_decrypt_the_provider_secret(client, settings):
    agency = make_agency(Provider.VITEC)
    agency.credential.vitec_sms_confirmation = True
    agency.credential.save()
    confirmation_url = client.post(page_url(make_three_slot_viewing(agency)), form_data())[
        "Location"
    ]
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    response = client.get(confirmation_url)

    assert response.status_code == 200
    assert "bekräftar mäklarsystemet den till dig via e-post och sms." in response.content.decode()
