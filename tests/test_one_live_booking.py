"""One live booking per buyer (email) and viewing, whatever the slot, at every door and in
the database; staff move a booking to another slot."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import pytest
from django.db import IntegrityError, connections, transaction
from django.test import Client
from django.urls import reverse

from agencies.models import ApiKey
from bookings.models import Booking
from tests.factories import (
    BUYER,
    ROLES,
    admin_booking_data,
    historical_viewing,
    in_english,
    make_booking,
    make_slot,
    make_three_slot_viewing,
    make_user_in_role,
    migrate_back_to,
    migrate_to_latest,
    post_booking_page,
)

pytestmark = pytest.mark.django_db

API_URL = "/api/v1/viewings/view-1/bookings"
ORDINARY_API_URL = "/api/v1/viewings/view-2/bookings"
NOT_LIVE = [
    Booking.Status.REJECTED,
    Booking.Status.FAILED,
    Booking.Status.CANCELLED,
]


@pytest.fixture
def later_slot(slot_viewing):
    """A second open slot of the viewing, after "slot-open"."""
    return make_slot(
        slot_viewing,
        provider_slot_id="slot-later",
        starts_at=slot_viewing.starts_at + timedelta(minutes=40),
    )


@pytest.fixture
def post_api(client, api_key):
    def post(payload, url=API_URL, key=api_key, **headers):
        return client.post(
            url,
            json.dumps({**BUYER, "consent": True, **payload}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
            **headers,
        )

    return post


def admin_post(client, viewing, slot=None, **fields):
    return client.post(
        reverse("admin:bookings_booking_add"),
        admin_booking_data(viewing, slot, **fields),
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )


@pytest.fixture
def validation_misses_the_duplicate(monkeypatch):
    """As when an identical booking commits while this one is validated: the form's check
    (the only one) finds nothing, and the save meets the database constraint."""
    real_live_duplicate = Booking.live_duplicate
    checks = []

    def live_duplicate(booking):
        checks.append(booking)
        return None if len(checks) <= 1 else real_live_duplicate(booking)

    monkeypatch.setattr(Booking, "live_duplicate", live_duplicate)


# --- JSON API ------------------------------------------------------------------------------


def test_api_same_buyer_twice_without_idempotency_key_is_409_naming_the_first(
    post_api, slot_viewing
):
    first = post_api({"slot": "slot-open"}).json()

    response = post_api({"slot": "slot-open", "email": " ANNA@example.SE"})

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "duplicate_booking"
    assert error["status_url"] == first["status_url"]
    assert Booking.objects.count() == 1


def test_api_same_buyer_in_another_slot_is_409_saying_one_per_viewing(
    post_api, slot_viewing, later_slot
):
    first = post_api({"slot": "slot-open"}).json()

    response = post_api({"slot": "slot-later"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "duplicate_booking"
    assert "one per buyer and viewing, whatever the slot" in error["message"]
    assert error["fields"]["__all__"] == [
        "A booking for this viewing with this email address has already been received: one "
        "booking per person and viewing, whatever the time."
    ]
    assert error["status_url"] == first["status_url"]
    assert Booking.objects.count() == 1


def test_api_409_in_swedish_message_and_fields(post_api, slot_viewing, later_slot):
    post_api({"slot": "slot-open"})

    response = post_api({"slot": "slot-later"}, HTTP_ACCEPT_LANGUAGE="sv")

    assert response.status_code == 409
    assert "en bokning per person och visning" in response.json()["error"]["fields"]["__all__"][0]
    assert "en per köpare och visning" in response.json()["error"]["message"]


def test_api_same_buyer_under_another_idempotency_key_is_409(post_api, slot_viewing):
    post_api({"slot": "slot-open"}, HTTP_IDEMPOTENCY_KEY="one")

    response = post_api({"slot": "slot-open", "phone": "0702222222"}, HTTP_IDEMPOTENCY_KEY="two")

    assert response.json()["error"]["code"] == "duplicate_booking"
    assert Booking.objects.count() == 1


def test_api_after_the_public_page_is_409(client, post_api, slot_viewing):
    post_booking_page(client, slot_viewing)

    response = post_api({"slot": "slot-open"})

    assert response.status_code == 409
    assert Booking.objects.count() == 1


def test_api_viewing_without_slots_books_a_buyer_once(post_api, ordinary_viewing):
    post_api({}, url=ORDINARY_API_URL)

    response = post_api({}, url=ORDINARY_API_URL)

    assert response.status_code == 409
    assert Booking.objects.count() == 1


def test_api_same_buyer_through_another_key_of_the_agency_is_409(post_api, slot_viewing):
    post_api({"slot": "slot-open"})
    portal_key = ApiKey.issue(slot_viewing.agency, "Portal")[1]

    response = post_api({"slot": "slot-open"}, key=portal_key)

    assert response.status_code == 409
    assert response.json()["error"]["status_url"].endswith(
        f"/api/v1/bookings/{Booking.objects.get().pk}"
    )


@pytest.mark.parametrize("status", NOT_LIVE)
def test_api_buyer_whose_booking_did_not_stand_may_book_again(post_api, slot_viewing, status):
    post_api({"slot": "slot-open"})
    Booking.objects.update(status=status)

    response = post_api({"slot": "slot-open"})

    assert response.status_code == 202
    assert Booking.objects.filter(status=Booking.Status.QUEUED).count() == 1


def test_api_race_is_the_same_409(post_api, slot_viewing, validation_misses_the_duplicate):
    existing = make_booking(slot_viewing, slot_viewing.slots.get(provider_slot_id="slot-open"))
    existing.email = "anna@example.se"
    existing.save()

    response = post_api({"slot": "slot-open"})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "duplicate_booking"
    assert response.json()["error"]["status_url"].endswith(f"/api/v1/bookings/{existing.pk}")
    assert Booking.objects.count() == 1


def test_api_race_with_an_idempotency_key_is_409_and_stores_no_response(
    post_api, slot_viewing, validation_misses_the_duplicate
):
    make_booking(
        slot_viewing,
        slot_viewing.slots.get(provider_slot_id="slot-open"),
        email="anna@example.se",
    )

    response = post_api({"slot": "slot-open"}, HTTP_IDEMPOTENCY_KEY="k1")

    assert response.status_code == 409
    assert Booking.objects.count() == 1


# --- public page ---------------------------------------------------------------------------


def test_page_after_the_api_shows_the_neutral_page(client, post_api, slot_viewing):
    post_api({"slot": "slot-open"})

    response = post_booking_page(client, slot_viewing)

    assert response.status_code == 200
    assert "already received" in response.content.decode()
    assert Booking.objects.count() == 1


def test_page_race_shows_the_neutral_page(client, slot_viewing, validation_misses_the_duplicate):
    make_booking(
        slot_viewing,
        slot_viewing.slots.get(provider_slot_id="slot-open"),
        email="anna@example.se",
    )

    response = post_booking_page(client, slot_viewing)

    assert response.status_code == 200
    assert "already received" in response.content.decode()
    assert Booking.objects.count() == 1


def test_page_same_buyer_in_another_slot_shows_the_neutral_page(client, slot_viewing, later_slot):
    post_booking_page(client, slot_viewing)

    response = post_booking_page(client, slot_viewing, slot="slot-later")

    assert response.status_code == 200
    assert "one booking per person and viewing" in response.content.decode()
    assert Booking.objects.count() == 1


def test_page_same_buyer_on_another_viewing_is_booked(client, slot_viewing):
    other = make_three_slot_viewing(slot_viewing.agency, provider_viewing_id="view-9")
    post_booking_page(client, slot_viewing)

    response = post_booking_page(client, other)

    assert response.status_code == 302
    assert Booking.objects.count() == 2


@pytest.mark.parametrize("status", NOT_LIVE)
def test_page_buyer_whose_booking_did_not_stand_may_book_again(client, slot_viewing, status):
    post_booking_page(client, slot_viewing)
    Booking.objects.update(status=status)

    response = post_booking_page(client, slot_viewing)

    assert response.status_code == 302
    assert Booking.objects.count() == 2


# --- admin ---------------------------------------------------------------------------------


@pytest.fixture(params=ROLES)
def admin_user_client(request, client, slot_viewing):
    client.force_login(make_user_in_role(request.param, slot_viewing.agency))
    return client


def test_admin_add_form_refuses_a_second_live_booking(admin_user_client, slot_viewing):
    slot = slot_viewing.slots.get(provider_slot_id="slot-open")
    admin_post(admin_user_client, slot_viewing, slot)

    response = admin_post(admin_user_client, slot_viewing, slot, first_name="Other")

    form = response.context["adminform"].form
    assert form.non_field_errors()[0] == (
        "A booking for this viewing with this email address has already been received: one "
        "booking per person and viewing, whatever the time."
    )
    assert Booking.objects.count() == 1


def test_admin_add_form_refuses_the_buyer_in_another_slot_and_names_their_booking(
    admin_user_client, slot_viewing, later_slot
):
    first = admin_post(
        admin_user_client, slot_viewing, slot_viewing.slots.get(provider_slot_id="slot-open")
    )
    existing = Booking.objects.get()

    response = admin_post(admin_user_client, slot_viewing, later_slot)

    assert first.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert "whatever the time" in errors[0]
    assert f"This buyer's booking is number {existing.pk}" in errors[1]
    assert "change its slot there to move it" in errors[1]
    assert Booking.objects.count() == 1


def test_admin_add_form_error_in_swedish(admin_client, slot_viewing, later_slot):
    make_booking(
        slot_viewing, slot_viewing.slots.get(provider_slot_id="slot-open"), email="anna@example.se"
    )

    response = admin_client.post(
        reverse("admin:bookings_booking_add"),
        admin_booking_data(slot_viewing, later_slot),
        HTTP_ACCEPT_LANGUAGE="sv",
    )

    errors = response.context["adminform"].form.non_field_errors()
    assert "en bokning per person och visning" in errors[0]
    assert Booking.objects.count() == 1


@pytest.mark.parametrize("status", [Booking.Status.QUEUED, Booking.Status.REJECTED])
def test_staff_move_a_booking_to_another_slot(admin_user_client, slot_viewing, later_slot, status):
    booking = make_booking(
        slot_viewing,
        slot_viewing.slots.get(provider_slot_id="slot-open"),
        email="anna@example.se",
        status=status,
    )

    response = admin_user_client.post(
        reverse("admin:bookings_booking_change", args=[booking.pk]),
        admin_booking_data(slot_viewing, later_slot, email="anna@example.se"),
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.slot == later_slot
    assert Booking.objects.count() == 1


def test_admin_add_race_says_so_and_shows_the_buyers_bookings(
    admin_client, slot_viewing, validation_misses_the_duplicate
):
    slot = slot_viewing.slots.get(provider_slot_id="slot-open")
    make_booking(slot_viewing, slot, email="anna@example.se")

    response = admin_post(admin_client, slot_viewing, slot)

    assert response.status_code == 200
    assert response.request["QUERY_STRING"] == "q=anna%40example.se"
    assert "already been received" in response.content.decode()
    assert Booking.objects.count() == 1


def test_admin_change_of_a_booking_to_another_live_ones_email_is_refused(
    admin_client, slot_viewing
):
    slot = slot_viewing.slots.get(provider_slot_id="slot-open")
    make_booking(slot_viewing, slot, email="anna@example.se")
    other = make_booking(slot_viewing, slot, email="bo@example.se")

    response = admin_client.post(
        reverse("admin:bookings_booking_change", args=[other.pk]),
        admin_booking_data(slot_viewing, slot, email="anna@example.se"),
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors()
    other.refresh_from_db()
    assert other.email == "bo@example.se"


# --- database ------------------------------------------------------------------------------


def test_database_refuses_two_live_bookings_of_one_slot_and_email(slot_viewing):
    slot = slot_viewing.slots.get(provider_slot_id="slot-open")
    make_booking(slot_viewing, slot, email="anna@example.se")

    with pytest.raises(IntegrityError), transaction.atomic():
        make_booking(slot_viewing, slot, email="anna@example.se")


def test_database_refuses_two_live_bookings_of_a_viewing_without_slots(ordinary_viewing):
    make_booking(ordinary_viewing, email="anna@example.se", status=Booking.Status.DELIVERED)

    with pytest.raises(IntegrityError), transaction.atomic():
        make_booking(ordinary_viewing, email="anna@example.se")


def test_database_allows_a_new_booking_beside_ones_that_did_not_stand(ordinary_viewing):
    for status in NOT_LIVE:
        make_booking(ordinary_viewing, email="anna@example.se", status=status)

    make_booking(ordinary_viewing, email="anna@example.se")

    assert Booking.objects.count() == len(NOT_LIVE) + 1


def test_database_refuses_the_same_email_live_in_another_slot(slot_viewing, later_slot):
    make_booking(
        slot_viewing, slot_viewing.slots.get(provider_slot_id="slot-open"), email="a@example.se"
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        make_booking(slot_viewing, later_slot, email="a@example.se")


def test_database_allows_the_same_email_on_another_viewing(slot_viewing):
    other = make_three_slot_viewing(slot_viewing.agency, provider_viewing_id="view-9")
    for viewing in (slot_viewing, other):
        make_booking(viewing, viewing.slots.get(provider_slot_id="slot-open"), email="a@example.se")

    assert Booking.objects.count() == 2


def test_database_lets_a_live_booking_move_to_another_slot(slot_viewing, later_slot):
    booking = make_booking(
        slot_viewing, slot_viewing.slots.get(provider_slot_id="slot-open"), email="a@example.se"
    )

    Booking.objects.filter(pk=booking.pk).update(slot=later_slot)

    assert Booking.objects.get().slot == later_slot


# --- migration -----------------------------------------------------------------------------

# Agencies goes back too, to before Agency.broker_system became provider (its 0014), so the
# historical Agency that historical_viewing makes is the table's.
AGENCIES_BEFORE_PROVIDER = ("agencies", "0013_provider_credential_mspecs_api")
BEFORE_THE_RULE = [("bookings", "0002_booking_newest_first_index"), AGENCIES_BEFORE_PROVIDER]


@pytest.mark.django_db(transaction=True)
def test_migration_sets_aside_later_duplicates_made_before_the_rule():
    old = migrate_back_to(BEFORE_THE_RULE)
    viewing = historical_viewing(old)
    OldBooking = old.get_model("bookings", "Booking")

    def booking(status, email="anna@example.se"):
        return OldBooking.objects.create(
            viewing=viewing, first_name="A", last_name="B", email=email, status=status
        ).pk

    first_queued = booking("queued")
    delivered = booking("delivered")
    later_queued = booking("queued")
    rejected = booking("rejected")
    other_buyer = booking("queued", email="bo@example.se")

    migrate_to_latest()

    status = dict(Booking.objects.values_list("pk", "status"))
    assert status == {
        first_queued: "cancelled",
        delivered: "delivered",
        later_queued: "cancelled",
        rejected: "rejected",
        other_buyer: "queued",
    }
    set_aside = Booking.objects.get(pk=later_queued)
    assert f"same buyer as booking {delivered}" in in_english(set_aside.last_problem)


BEFORE_ONE_PER_VIEWING = [
    ("bookings", "0017_start_page_and_quarantine_indexes"),
    AGENCIES_BEFORE_PROVIDER,
]


@pytest.mark.django_db(transaction=True)
def test_migration_sets_aside_a_buyers_second_slot_of_a_viewing():
    old = migrate_back_to(BEFORE_ONE_PER_VIEWING)
    viewing = historical_viewing(old)
    OldSlot = old.get_model("bookings", "ViewingSlot")
    OldBooking = old.get_model("bookings", "Booking")
    slots = [
        OldSlot.objects.create(
            viewing=viewing,
            provider_slot_id=f"s{n}",
            starts_at=viewing.starts_at,
            ends_at=viewing.ends_at,
        )
        for n in range(3)
    ]

    def booking(slot, status, email="anna@example.se"):
        return OldBooking.objects.create(
            viewing=viewing, slot=slot, first_name="A", last_name="B", email=email, status=status
        ).pk

    first_queued = booking(slots[0], "queued")
    delivered = booking(slots[1], "delivered")
    later_retrying = booking(slots[2], "retrying")
    failed = booking(slots[2], "failed")
    other_buyer = booking(slots[0], "queued", email="bo@example.se")

    migrate_to_latest()

    status = dict(Booking.objects.values_list("pk", "status"))
    assert status == {
        first_queued: "cancelled",
        delivered: "delivered",
        later_retrying: "cancelled",
        failed: "failed",
        other_buyer: "queued",
    }
    set_aside = Booking.objects.get(pk=later_retrying)
    assert set_aside.next_attempt_at is None
    assert f"the same buyer as booking {delivered} of this viewing" in in_english(
        set_aside.last_problem
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_identical_api_posts_give_one_booking(slot_viewing, api_key):
    # Real threads and connections: several pass validation together, and the database
    # constraint refuses all but one of their saves.
    posts = 8
    barrier = Barrier(posts)

    def post(_):
        barrier.wait()
        try:
            return (
                Client()
                .post(
                    API_URL,
                    json.dumps({**BUYER, "slot": "slot-open", "consent": True}),
                    content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {api_key}",
                )
                .status_code
            )
        finally:
            connections.close_all()

    with ThreadPoolExecutor(posts) as pool:
        statuses = sorted(pool.map(post, range(posts)))

    assert statuses == [202] + [409] * (posts - 1)
    assert Booking.objects.count() == 1


def test_api_buyer_whose_booking_needs_review_may_not_book_again(post_api, slot_viewing):
    # It may already sit in the provider: a second one could list the buyer twice.
    post_api({"slot": "slot-open"})
    Booking.objects.update(status=Booking.Status.NEEDS_REVIEW)

    again = post_api({"slot": "slot-open"})

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_booking"
