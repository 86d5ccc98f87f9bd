"""The public booking page's form as a buyer's browser sees it: the language switch keeps
what was typed and the chosen time, every field says what may be filled in, the phone is a
tel input; and a viewing whose title is its address names it once."""

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from bookings.buyer.emails import ended_email, receipt_email
from bookings.buyer.links import status_path
from bookings.models import Booking
from tests.factories import BUYER, make_booking, make_viewing

pytestmark = pytest.mark.django_db


def page_url(viewing):
    return reverse("booking-page", args=[viewing.public_id])


def switch(client, viewing, language, **fields):
    typed = {**BUYER, "slot": "slot-open", "consent": "on", "website": "", **fields}
    return client.post(
        page_url(viewing), {**typed, "switch_language": language}, HTTP_ACCEPT_LANGUAGE="sv"
    )


# --- the language switch ------------------------------------------------------------------


def test_switching_language_keeps_the_typed_fields_and_the_chosen_time(client, slot_viewing):
    response = switch(client, slot_viewing, "en")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="en">' in html
    assert "Choose a time" in html
    assert 'value=" Anna "' in html or 'value="Anna"' in html
    assert 'value="Andersson"' in html
    assert 'value="Anna@Example.SE"' in html
    assert 'value="070-111 11 11"' in html
    assert "Vi kommer två.</textarea>" in html
    assert 'value="slot-open" autocomplete="off"\n            \n            checked' in html


def test_switching_language_books_nothing_and_shows_no_errors(client, slot_viewing):
    response = switch(client, slot_viewing, "en", first_name="")

    assert Booking.objects.count() == 0
    assert "Please correct the errors below." not in response.content.decode()


def test_switching_language_leaves_the_consent_to_be_given_in_the_new_language(
    client, slot_viewing
):
    html = switch(client, slot_viewing, "en").content.decode()

    assert 'name="consent" autocomplete="off" required id="id_consent">' in html
    assert "checked" not in html.split('name="consent"')[1].split(">")[0]


def test_the_switched_language_is_kept_for_the_next_pages(client, slot_viewing):
    response = switch(client, slot_viewing, "en")

    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert '<html lang="en">' in client.get(page_url(slot_viewing)).content.decode()


def test_the_switched_page_books_in_the_new_language(client, slot_viewing):
    switch(client, slot_viewing, "en")

    response = client.post(
        page_url(slot_viewing), {**BUYER, "slot": "slot-open", "consent": "on", "website": ""}
    )

    booking = Booking.objects.get()
    assert response["Location"] == status_path(booking)
    assert booking.language == "en"


def test_switching_language_is_not_a_booking_attempt_for_the_rate_limit(
    client, slot_viewing, settings
):
    settings.BOOKING_RATE_LIMIT_PER_IP = 1
    for _ in range(3):
        switch(client, slot_viewing, "en")

    response = client.post(
        page_url(slot_viewing), {**BUYER, "slot": "slot-open", "consent": "on", "website": ""}
    )

    assert response.status_code == 302


@pytest.mark.parametrize("hostile", ["xx", "", "en' onclick='x", "sv" * 500])
def test_an_unknown_language_is_an_ordinary_submission(client, slot_viewing, hostile):
    response = switch(client, slot_viewing, hostile, consent="")

    assert response.status_code == 200
    assert "Du måste samtycka innan du kan boka." in response.content.decode()
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_the_switch_belongs_to_the_booking_form_after_its_book_button(client, slot_viewing):
    """So Enter in a field books (the form's first submit button), not switches."""
    html = client.get(page_url(slot_viewing), HTTP_ACCEPT_LANGUAGE="sv").content.decode()

    assert 'form="booking-form" formnovalidate name="switch_language" value="en"' in html
    assert html.index('<button type="submit">Boka</button>') < html.index("switch_language")


def test_a_closed_viewings_page_keeps_the_plain_switch(client, slot_viewing):
    slot_viewing.booking_closes_at = timezone.now()
    slot_viewing.save()

    html = client.get(page_url(slot_viewing)).content.decode()

    assert "switch_language" not in html
    assert reverse("set_language") in html


# --- what a browser may fill in ------------------------------------------------------------


@pytest.mark.parametrize(
    "field, attributes",
    [
        ("first_name", 'autocomplete="given-name"'),
        ("last_name", 'autocomplete="family-name"'),
        ("email", 'type="email" name="email" autocomplete="email"'),
        ("phone", 'type="tel" name="phone" autocomplete="tel"'),
        ("message", 'autocomplete="off"'),
        ("consent", 'autocomplete="off"'),
        ("website", 'autocomplete="off"'),
    ],
)
def test_every_field_has_an_autocomplete_hint(client, slot_viewing, field, attributes):
    html = client.get(page_url(slot_viewing)).content.decode()

    [tag] = [
        part
        for part in html.split("<")
        if part.startswith(("input", "textarea")) and f'name="{field}"' in part
    ]
    for attribute in attributes.split(" "):
        assert attribute in tag


def test_every_time_has_an_autocomplete_hint(client, slot_viewing):
    html = client.get(page_url(slot_viewing)).content.decode()

    radios = [part for part in html.split("<input")[1:] if 'name="slot"' in part]
    assert radios
    assert all('autocomplete="off"' in radio for radio in radios)


# --- the address once -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "title, address, shown",
    [
        (
            "Kungsgatan 5, Göteborg",
            "Kungsgatan 5, 411 19 Göteborg",
            "Kungsgatan 5, 411 19 Göteborg",
        ),
        ("Kungsgatan 5, Göteborg", "Kungsgatan 5, Göteborg", "Kungsgatan 5, Göteborg"),
        ("Kungsgatan 5", "Kungsgatan 5, 411 19 Göteborg", "Kungsgatan 5, 411 19 Göteborg"),
        ("KUNGSGATAN 5", "Kungsgatan 5, Göteborg", "Kungsgatan 5, Göteborg"),
        (
            "Ljus trea med balkong",
            "Kungsgatan 5, Göteborg",
            "Ljus trea med balkong, Kungsgatan 5, Göteborg",
        ),
        ("Kungsgatan 5, Göteborg", "", "Kungsgatan 5, Göteborg"),
        ("Storgatan 1, 3 rok", "Storgatan 1, Uppsala", "Storgatan 1, 3 rok, Uppsala"),
    ],
)
def test_a_viewing_names_its_address_once(title, address, shown, mspecs_agency):
    viewing = make_viewing(mspecs_agency, title=title, address=address)

    assert viewing.title_and_address == shown


def test_the_status_page_and_email_name_the_address_once(client, mspecs_agency):
    viewing = make_viewing(
        mspecs_agency, title="Kungsgatan 5, Göteborg", address="Kungsgatan 5, Göteborg"
    )
    booking = make_booking(viewing, status=Booking.Status.REJECTED)

    texts = [
        client.get(status_path(booking)).content.decode(),
        receipt_email(booking).body,
        ended_email(booking).body,
    ]

    for text in texts:
        assert "Kungsgatan 5, Göteborg" in text
        assert "Kungsgatan 5, Göteborg, Kungsgatan 5" not in text
