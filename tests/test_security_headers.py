"""Every response carries the Content-Security-Policy, and our pages need nothing it forbids:
no inline script or style anywhere."""

import re

import pytest
from django.urls import reverse

from bookings.models import Booking
from tests.factories import make_booking, make_staff_user

POLICY = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(src=|type=\"application/json\"))[^>]*>")
INLINE_STYLE = re.compile(r"<style\b|\sstyle=")


def assert_strict_policy_and_nothing_inline(response):
    assert response["Content-Security-Policy"] == POLICY
    page = response.content.decode()
    assert not INLINE_SCRIPT.search(page)
    assert not INLINE_STYLE.search(page)


@pytest.mark.django_db
def test_the_public_booking_page_has_the_policy_and_nothing_inline(client, slot_viewing):
    response = client.get(reverse("booking-page", args=[slot_viewing.public_id]))

    assert response.status_code == 200
    assert_strict_policy_and_nothing_inline(response)
    assert "/static/bookings/public.css" in response.content.decode()


@pytest.mark.django_db
def test_the_booking_confirmation_has_the_policy_and_nothing_inline(client, slot_viewing):
    slot = client.get(reverse("booking-page", args=[slot_viewing.public_id])).context["slots"][0]
    response = client.post(
        reverse("booking-page", args=[slot_viewing.public_id]),
        {
            "slot": slot.provider_slot_id,
            "first_name": "Anna",
            "last_name": "Andersson",
            "email": "anna@example.se",
            "phone": "070-123 45 67",
            "consent": "on",
        },
        follow=True,
    )

    assert response.redirect_chain, response.content.decode()
    assert_strict_policy_and_nothing_inline(response)


@pytest.mark.django_db
def test_the_admin_login_page_has_the_policy_and_nothing_inline(client):
    response = client.get(reverse("admin:login"))

    assert_strict_policy_and_nothing_inline(response)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url_name",
    ["admin:index", "admin:bookings_booking_changelist", "admin:quarantine_mirror"],
)
def test_admin_pages_have_the_policy_and_nothing_inline(client, slot_viewing, url_name):
    make_booking(slot_viewing, status=Booking.Status.REJECTED)
    client.force_login(make_staff_user(slot_viewing.agency))

    response = client.get(reverse(url_name))

    assert response.status_code == 200
    assert_strict_policy_and_nothing_inline(response)


@pytest.mark.django_db
def test_api_responses_have_the_policy(client, api_key):
    answered = client.get("/api/v1/viewings", HTTP_AUTHORIZATION=f"Bearer {api_key}")
    refused = client.get("/api/v1/viewings")

    assert answered.status_code == 200
    assert refused.status_code == 401
    assert answered["Content-Security-Policy"] == POLICY
    assert refused["Content-Security-Policy"] == POLICY


@pytest.mark.django_db
def test_head_on_the_public_booking_page_answers_like_get(client, slot_viewing):
    url = reverse("booking-page", args=[slot_viewing.public_id])

    head = client.head(url)
    get = client.get(url)

    assert head.status_code == get.status_code == 200
    assert head["Content-Type"] == get["Content-Type"]
    assert head.content == b""


@pytest.mark.django_db
def test_head_on_an_unknown_booking_page_is_not_found_like_get(client):
    url = reverse("booking-page", args=["00000000-0000-0000-0000-000000000000"])

    assert client.head(url).status_code == client.get(url).status_code == 404
