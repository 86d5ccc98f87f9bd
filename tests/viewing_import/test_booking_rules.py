"""Booking rules from the provider: only viewings bookable from the internet are
offered online; the booking deadline closes booking at that exact moment on the public
page, in the JSON API and in the admin form, and is honoured at send time; places left."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from agencies.models import ApiKey, Membership, Provider
from bookings.delivery.sending import deliver
from bookings.models import Booking, Viewing
from tests.factories import (
    BUYER,
    admin_booking_data,
    make_booking,
    make_slot,
    make_staff_user,
    make_three_slot_viewing,
    make_viewing,
    post_booking_api,
    post_booking_page,
)

pytestmark = pytest.mark.django_db
ROLES = ["superuser", "administrator", "staff", "staff-elsewhere-admin"]


@pytest.fixture
def viewing(make_agency, sandbox):
    """A time-slot viewing tomorrow whose slot "slot-open" can be booked."""
    agency = make_agency(Provider.MSPECS)
    sandbox.set_deal("deal-x", {"slot-open": 5})
    return make_three_slot_viewing(agency)


@pytest.fixture
def api_key(viewing):
    return ApiKey.issue(viewing.agency, "Website")[1]


def close_booking(viewing, at):
    Viewing.objects.filter(pk=viewing.pk).update(booking_closes_at=at)
    viewing.refresh_from_db()


def sign_in(client, role, agency, make_agency):
    if role == "superuser":
        user = get_user_model().objects.create_superuser("root", password="pw")
    elif role == "administrator":
        user = make_staff_user(agency, role=Membership.Role.ADMIN)
    elif role == "staff":
        user = make_staff_user(agency)
    else:
        user = make_staff_user(agency)
        Membership.objects.create(user=user, agency=make_agency(), role=Membership.Role.ADMIN)
    client.force_login(user)


def test_booking_closes_at_the_exact_moment():
    closes_at = timezone.now() + timedelta(hours=3)
    viewing = Viewing(booking_closes_at=closes_at)

    assert not viewing.booking_closed(closes_at - timedelta(microseconds=1))
    assert viewing.booking_closed(closes_at)
    assert not Viewing().booking_closed()  # no deadline: open until the viewing starts


def test_the_public_page_takes_a_booking_before_the_deadline(client, viewing):
    close_booking(viewing, timezone.now() + timedelta(minutes=1))

    response = post_booking_page(client, viewing)

    assert response.status_code == 302
    assert Booking.objects.count() == 1


def test_the_public_page_refuses_a_booking_from_the_deadline_on(client, viewing):
    close_booking(viewing, timezone.now())

    response = post_booking_page(client, viewing)

    assert response.status_code == 200
    assert "Booking for this viewing closed at" in response.content.decode()
    assert not Booking.objects.exists()


def test_the_public_page_after_the_deadline_says_so_instead_of_a_form(client, viewing):
    close_booking(viewing, timezone.now() - timedelta(minutes=1))

    page = client.get(reverse("booking-page", args=[viewing.public_id]), HTTP_ACCEPT_LANGUAGE="en")

    assert "Booking for this viewing closed at" in page.content.decode()
    assert 'name="first_name"' not in page.content.decode()


def test_the_public_page_says_until_when_one_can_book(client, viewing):
    close_booking(viewing, timezone.now() + timedelta(hours=5))

    page = client.get(reverse("booking-page", args=[viewing.public_id]), HTTP_ACCEPT_LANGUAGE="en")

    assert "Book by " in page.content.decode()


def test_the_api_refuses_a_booking_from_the_deadline_on(client, viewing, api_key):
    close_booking(viewing, timezone.now())

    response = post_booking_api(client, api_key)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "booking_closed"
    assert not Booking.objects.exists()


def test_the_api_takes_a_booking_before_the_deadline(client, viewing, api_key):
    close_booking(viewing, timezone.now() + timedelta(minutes=1))

    assert post_booking_api(client, api_key).status_code == 202


def test_the_api_lists_a_viewing_with_its_deadline_until_it_passes(client, viewing, api_key):
    closes_at = timezone.now() + timedelta(hours=2)
    close_booking(viewing, closes_at)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key}"}

    [listed] = client.get("/api/v1/viewings", **auth).json()["viewings"]
    close_booking(viewing, timezone.now())
    after = client.get("/api/v1/viewings", **auth).json()["viewings"]

    assert listed["booking_closes_at"].startswith(closes_at.strftime("%Y-%m-%dT"))
    assert after == []


@pytest.mark.parametrize("role", ROLES)
def test_the_admin_form_refuses_a_booking_from_the_deadline_on_for_every_role(
    client, viewing, make_agency, role
):
    close_booking(viewing, timezone.now())
    sign_in(client, role, viewing.agency, make_agency)
    slot = viewing.slots.get(provider_slot_id="slot-open")

    response = client.post(
        reverse("admin:bookings_booking_add"),
        admin_booking_data(viewing, slot),
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    assert "Booking for this viewing closed at" in str(
        response.context["adminform"].form.non_field_errors()
    )
    assert not Booking.objects.exists()


def test_the_admin_form_takes_a_booking_before_the_deadline(admin_client, viewing):
    close_booking(viewing, timezone.now() + timedelta(minutes=1))
    slot = viewing.slots.get(provider_slot_id="slot-open")

    response = admin_client.post(
        reverse("admin:bookings_booking_add"), admin_booking_data(viewing, slot)
    )

    assert response.status_code == 302
    assert Booking.objects.count() == 1


def test_the_deadline_message_is_in_swedish_for_a_swedish_reader(client, viewing):
    close_booking(viewing, timezone.now())

    response = client.post(
        reverse("booking-page", args=[viewing.public_id]),
        {**BUYER, "slot": "slot-open", "consent": "on", "website": ""},
        HTTP_ACCEPT_LANGUAGE="sv",
    )

    assert "Bokningen till denna visning stängde" in response.content.decode()


def test_a_booking_taken_in_time_is_still_delivered_after_the_deadline(viewing, sandbox):
    slot = viewing.slots.get(provider_slot_id="slot-open")
    booking = make_booking(viewing, slot)
    close_booking(viewing, timezone.now())  # the worker only gets to it now

    assert deliver(booking.pk) == "delivered"
    assert len(sandbox.received("mspecs")) == 1


def test_a_booking_taken_after_a_deadline_moved_earlier_is_not_sent(viewing, sandbox):
    slot = viewing.slots.get(provider_slot_id="slot-open")
    booking = make_booking(viewing, slot)
    close_booking(viewing, booking.created_at - timedelta(hours=1))  # a sync moved it

    assert deliver(booking.pk) == "rejected"

    booking.refresh_from_db()
    assert booking.status == Booking.Status.REJECTED
    assert booking.last_problem.code == "accepted_after_deadline"
    assert sandbox.received() == []


# --- bookable from the internet ----------------------------------------------------------


def test_a_viewing_not_bookable_from_the_internet_has_no_booking_form(client, viewing):
    Viewing.objects.filter(pk=viewing.pk).update(bookable_from_internet=False)

    page = client.get(reverse("booking-page", args=[viewing.public_id]))

    # The friendly page for a viewing that cannot be booked here, naming whom to ask.
    assert page.status_code == 410
    assert viewing.agency.name in page.content.decode()
    assert b'name="first_name"' not in page.content


def test_a_viewing_not_bookable_from_the_internet_is_not_in_the_api(client, viewing, api_key):
    Viewing.objects.filter(pk=viewing.pk).update(bookable_from_internet=False)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key}"}

    assert client.get("/api/v1/viewings", **auth).json()["viewings"] == []
    assert post_booking_api(client, api_key).status_code == 404
    assert not Booking.objects.exists()


def test_staff_may_still_book_a_viewing_not_bookable_from_the_internet(admin_client, viewing):
    Viewing.objects.filter(pk=viewing.pk).update(bookable_from_internet=False)
    slot = viewing.slots.get(provider_slot_id="slot-open")

    response = admin_client.post(
        reverse("admin:bookings_booking_add"), admin_booking_data(viewing, slot)
    )

    assert response.status_code == 302


# --- places left -------------------------------------------------------------------------


def page_of(client, viewing) -> str:
    url = reverse("booking-page", args=[viewing.public_id])
    return client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_the_public_page_shows_mspecs_free_spots_as_places_left(client, viewing):
    viewing.slots.filter(provider_slot_id="slot-open").update(free_spots=4, capacity=5)

    assert "4 places left" in page_of(client, viewing)


def test_the_public_page_shows_a_vitec_slots_capacity_less_our_live_bookings(client, make_agency):
    viewing = make_viewing(make_agency(Provider.VITEC), viewing_type=Viewing.Type.TIME_SLOTS)
    slot = make_slot(viewing, provider_slot_id="t-1", capacity=3)
    make_booking(viewing, slot)
    make_booking(viewing, slot, status=Booking.Status.CANCELLED)  # no longer takes a place

    assert "2 places left" in page_of(client, viewing)


def test_a_slot_with_no_places_left_is_full_and_refused(client, make_agency):
    viewing = make_viewing(make_agency(Provider.VITEC), viewing_type=Viewing.Type.TIME_SLOTS)
    slot = make_slot(viewing, provider_slot_id="t-1", capacity=1)
    make_booking(viewing, slot)

    page = page_of(client, viewing)
    response = post_booking_page(client, viewing, slot="t-1")

    assert "Full" in page and "places left" not in page
    assert "fully booked" in response.content.decode()
    assert Booking.objects.count() == 1


def test_the_api_lists_places_left(client, viewing, api_key):
    viewing.slots.filter(provider_slot_id="slot-open").update(free_spots=2)

    [listed] = client.get("/api/v1/viewings", HTTP_AUTHORIZATION=f"Bearer {api_key}").json()[
        "viewings"
    ]

    places = {slot["id"]: slot["places_left"] for slot in listed["slots"]}
    assert places["slot-open"] == 2 and places["slot-full"] is None
