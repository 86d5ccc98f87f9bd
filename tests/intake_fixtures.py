"""Viewings with slots and an API key for the intake tests (public page, API, browser)."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from agencies.models import ApiKey, BrokerSystem
from bookings.models import Viewing
from tests.factories import make_agency, make_slot, make_viewing


def make_three_slot_viewing(agency, provider_viewing_id: str = "view-1") -> Viewing:
    """A time-slot viewing tomorrow with a past slot, an open slot and a full slot."""
    start = timezone.now() + timedelta(days=1)
    viewing = make_viewing(
        agency,
        provider_viewing_id=provider_viewing_id,
        viewing_type=Viewing.Type.TIME_SLOTS,
        title="Storgatan 1, 3 rok",
        address="Storgatan 1, Uppsala",
        starts_at=start,
    )
    make_slot(viewing, provider_slot_id="slot-past", starts_at=timezone.now() - timedelta(hours=1))
    make_slot(viewing, provider_slot_id="slot-open", starts_at=start)
    make_slot(
        viewing,
        provider_slot_id="slot-full",
        starts_at=start + timedelta(minutes=20),
        number_booked=5,
        fully_booked=True,
        status_checked_at=timezone.now(),
    )
    return viewing


@pytest.fixture
def mspecs_agency(db):
    return make_agency(BrokerSystem.MSPECS)


@pytest.fixture
def slot_viewing(mspecs_agency):
    return make_three_slot_viewing(mspecs_agency)


@pytest.fixture
def ordinary_viewing(mspecs_agency):
    return make_viewing(mspecs_agency, provider_viewing_id="view-2", title="Lillgatan 2")


@pytest.fixture
def api_key(mspecs_agency):
    return ApiKey.issue(mspecs_agency, "Website")[1]


BUYER = {
    "first_name": " Anna ",
    "last_name": "Andersson",
    "email": "Anna@Example.SE",
    "phone": "070-111 11 11",
    "message": "Vi kommer två.",
}


def admin_booking_data(viewing, slot=None, **fields) -> dict:
    """The admin's booking form (add or change) filled in for BUYER."""
    return {
        "viewing": viewing.pk,
        "slot": slot.pk if slot else "",
        **BUYER,
        "source": "admin",
        "attempts-TOTAL_FORMS": "0",
        "attempts-INITIAL_FORMS": "0",
        **fields,
    }


def post_booking_api(client, api_key, url="/api/v1/viewings/view-1/bookings", headers=(), **fields):
    """BUYER books the open slot through the JSON API, reading English."""
    return client.post(
        url,
        json.dumps({**BUYER, "slot": "slot-open", "consent": True, **fields}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
        HTTP_ACCEPT_LANGUAGE="en",
        **dict(headers),
    )


def post_booking_page(client, viewing, **fields):
    """BUYER books the open slot on the public page, reading English."""
    data = {**BUYER, "slot": "slot-open", "consent": "on", "website": "", **fields}
    return client.post(
        reverse("booking-page", args=[viewing.public_id]), data, HTTP_ACCEPT_LANGUAGE="en"
    )
