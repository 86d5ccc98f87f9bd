"""A viewing link that can no longer be booked, or never could, answers a friendly page in
the buyer's language with the agency's name where known: 410 for a closed or ended viewing,
404 for an unknown one. Never a bare "Not Found"."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from agencies.models import Agency
from bookings.models import Booking, Viewing
from tests.factories import BUYER, make_three_slot_viewing

pytestmark = pytest.mark.django_db
UNKNOWN = "/book/00000000-0000-0000-0000-000000000000/"


@pytest.fixture
def viewing(make_agency):
    return make_three_slot_viewing(make_agency(name="Mäklarhuset Uppsala"))


def page_url(viewing):
    return reverse("booking-page", args=[viewing.public_id])


def ended(viewing):
    Viewing.objects.filter(pk=viewing.pk).update(
        starts_at=timezone.now() - timedelta(hours=2), ends_at=timezone.now() - timedelta(hours=1)
    )


def closed(viewing):
    Viewing.objects.filter(pk=viewing.pk).update(is_open=False)


def agency_inactive(viewing):
    Agency.objects.filter(pk=viewing.agency_id).update(is_active=False)


@pytest.mark.parametrize("make_unbookable", [closed, ended, agency_inactive])
def test_a_viewing_no_longer_bookable_is_gone_and_names_the_agency(
    client, viewing, make_unbookable
):
    make_unbookable(viewing)

    response = client.get(page_url(viewing))

    assert response.status_code == 410
    text = response.content.decode()
    assert "Visningen går inte längre att boka" in text
    assert "Kontakta Mäklarhuset Uppsala" in text
    assert viewing.title in text


def test_the_page_is_in_english_for_an_english_browser(client, viewing):
    closed(viewing)

    text = client.get(page_url(viewing), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "This viewing is no longer bookable" in text
    assert "Contact Mäklarhuset Uppsala for other times" in text


def test_the_language_switch_chooses_english(client, viewing):
    closed(viewing)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    assert "This viewing is no longer bookable" in client.get(page_url(viewing)).content.decode()


def test_an_unknown_viewing_is_not_found_with_a_friendly_page(client, viewing):
    response = client.get(UNKNOWN, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 404
    text = response.content.decode()
    assert "We do not know this viewing" in text
    assert "Mäklarhuset" not in text


def test_booking_a_closed_viewing_saves_nothing(client, viewing):
    closed(viewing)

    response = client.post(
        page_url(viewing), {**BUYER, "slot": "slot-open", "consent": "on", "website": ""}
    )

    assert response.status_code == 410
    assert not Booking.objects.exists()


@pytest.mark.parametrize("path", ["/book/not-a-uuid/", "/book/%00/", "/book/" + "1" * 3000 + "/"])
def test_a_malformed_viewing_link_is_not_found_with_the_friendly_page(client, path):
    response = client.get(path, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 404
    assert "We do not know this viewing" in response.content.decode()
