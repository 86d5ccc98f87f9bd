"""An Idempotency-Key answers only for the request it was first sent with: the key and the
request are kept as keyed digests (no raw key, nothing personal), which outlive the buyer's
erasure, and every simultaneous retry gets the same 202."""

import json
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from django.core.management import call_command
from django.db import connections
from django.test import Client
from django.urls import reverse

from bookings.models import (
    UNKNOWN_REQUEST,
    Booking,
    IdempotentRequest,
    idempotency_key_digest,
)
from tests.factories import (
    BUYER,
    ROLES,
    historical_viewing,
    make_user_in_role,
    migrate_back_to,
    migrate_to_latest,
    post_booking_api,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/viewings/view-1/bookings"
# Integrators were seen to put the buyer's email in the key.
KEY = "gdpr-anna@example.se"
OTHER_BUYER = {"first_name": "Bo", "last_name": "Berg", "email": "bo@example.se"}


def post(client, api_key, key=KEY, **fields):
    return post_booking_api(client, api_key, headers={"HTTP_IDEMPOTENCY_KEY": key}, **fields)


def erase_by_command():
    call_command("erase_buyer", BUYER["email"])


def erase_in_admin(admin_client):
    response = admin_client.post(
        "/admin/bookings/datarequest/buyer/",
        {"email": BUYER["email"], "action": "erase", "confirm": "on"},
    )
    assert response.status_code == 302


@pytest.fixture(params=["command", "admin"])
def erase_buyer(request, admin_client):
    """Erase BUYER through one of the doors that do it."""
    if request.param == "command":
        return erase_by_command
    return lambda: erase_in_admin(admin_client)


# --- what is stored ------------------------------------------------------------------------


def test_the_key_is_stored_as_its_keyed_digest(client, api_key, slot_viewing):
    post(client, api_key)

    record = IdempotentRequest.objects.get()
    assert record.key_digest == idempotency_key_digest(KEY)
    assert KEY not in json.dumps(list(IdempotentRequest.objects.values()), default=str)


def test_the_request_is_stored_as_a_digest_without_the_buyers_data(client, api_key, slot_viewing):
    post(client, api_key)

    stored = json.dumps(list(IdempotentRequest.objects.values()), default=str).lower()
    assert "anna" not in stored.replace(idempotency_key_digest(KEY), "")


def test_a_retry_with_the_body_reordered_and_spaced_gets_the_first_response(
    client, api_key, slot_viewing
):
    first = post(client, api_key)
    body = {"consent": True, "slot": "slot-open", **dict(reversed(BUYER.items()))}

    retry = client.post(
        URL,
        json.dumps(body, indent=4),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
        HTTP_IDEMPOTENCY_KEY=KEY,
    )

    assert (retry.status_code, retry.json()) == (202, first.json())
    assert Booking.objects.count() == 1


# --- after the buyer's erasure -------------------------------------------------------------


def test_a_retry_after_the_buyers_erasure_gets_the_first_response(
    client, api_key, slot_viewing, erase_buyer
):
    first = post(client, api_key)
    erase_buyer()

    retry = post(client, api_key)

    assert (retry.status_code, retry.json()["id"]) == (202, first.json()["id"])
    assert Booking.objects.count() == 1


def test_another_buyers_request_under_an_erased_buyers_key_is_422_and_books_nothing(
    client, api_key, slot_viewing, erase_buyer
):
    first = post(client, api_key)
    erase_buyer()

    response = post(client, api_key, **OTHER_BUYER)

    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (422, "idempotency_key_reused")
    assert str(first.json()["id"]) not in response.content.decode()
    assert list(Booking.objects.values_list("pk", flat=True)) == [first.json()["id"]]


def test_a_key_whose_request_can_no_longer_be_compared_is_refused_with_422(
    client, api_key, slot_viewing
):
    post(client, api_key)
    IdempotentRequest.objects.update(request_fingerprint=UNKNOWN_REQUEST)

    response = post(client, api_key)

    assert response.status_code == 422
    assert "can no longer be compared" in response.json()["error"]["message"]


# --- the admin -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_the_admin_list_shows_no_raw_key(client, api_key, slot_viewing, mspecs_agency, role):
    post(client, api_key)
    client.force_login(make_user_in_role(role, mspecs_agency))

    response = client.get(reverse("admin:bookings_idempotentrequest_changelist"))

    assert response.status_code == 200
    assert idempotency_key_digest(KEY) in response.content.decode()
    assert KEY not in response.content.decode()


@pytest.mark.parametrize(("search", "found"), [(KEY, 1), ("gdpr-anna", 0), ("", 1)])
def test_the_admin_finds_a_record_by_its_exact_key(
    admin_client, client, api_key, slot_viewing, search, found
):
    post(client, api_key)

    response = admin_client.get(
        reverse("admin:bookings_idempotentrequest_changelist"), {"q": search}
    )

    assert response.context["cl"].result_count == found


# --- simultaneous retries ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_simultaneous_retries_with_one_key_all_get_the_same_202(slot_viewing, api_key, round_):
    # Real threads and connections (on SQLite and PostgreSQL): some read no record yet and
    # meet the first one's booking (as a duplicate) or its record.
    posts = 20
    barrier = Barrier(posts)

    def send(_):
        barrier.wait()
        try:
            response = Client().post(
                URL,
                json.dumps({**BUYER, "slot": "slot-open", "consent": True}),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {api_key}",
                HTTP_IDEMPOTENCY_KEY=KEY,
            )
            return response.status_code, response.json().get("id")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(posts) as pool:
        answers = set(pool.map(send, range(posts)))

    assert answers == {(202, Booking.objects.get().pk)}


# --- the migration -------------------------------------------------------------------------

BEFORE_DIGESTS = [
    ("bookings", "0021_changed_sources_mark"),
    ("agencies", "0013_provider_credential_mspecs_api"),
]


@pytest.mark.django_db(transaction=True)
def test_migration_replaces_stored_keys_by_their_digests():
    old = migrate_back_to(BEFORE_DIGESTS)
    agency = historical_viewing(old).agency
    api_key = old.get_model("agencies", "ApiKey").objects.create(
        agency_id=agency.pk, name="Website", prefix="abcdefgh", key_hash="h" * 64
    )
    old.get_model("bookings", "IdempotentRequest").objects.create(
        api_key_id=api_key.pk,
        key=KEY,
        request_fingerprint="f" * 64,
        response_status=202,
        response_body={"id": 1},
    )

    migrate_to_latest()

    record = IdempotentRequest.objects.get()
    assert record.key_digest == idempotency_key_digest(KEY)
    # An unkeyed hash of the request: no request can be compared with it any more.
    assert record.request_fingerprint == UNKNOWN_REQUEST
