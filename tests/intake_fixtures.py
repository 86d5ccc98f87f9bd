"""Agencies, viewings and slots for the intake tests (public page, API, browser)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agencies.models import Agency, ApiKey, BrokerSystem, ProviderCredential
from bookings.models import Viewing, ViewingSlot


def make_agency(slug: str, broker_system: str, base_url: str = "http://127.0.0.1:9") -> Agency:
    agency = Agency.objects.create(name=slug.title(), slug=slug, broker_system=broker_system)
    ProviderCredential.objects.create(
        agency=agency,
        base_url=base_url,
        username="sandbox",
        secret="sandbox-secret",
        vitec_customer_id="cust-1" if broker_system == BrokerSystem.VITEC else "",
    )
    return agency


def make_slot_viewing(agency: Agency, viewing_id: str = "view-1") -> Viewing:
    """A time-slot viewing tomorrow with a past slot, an open slot and a full slot."""
    start = timezone.now() + timedelta(days=1)
    viewing = Viewing.objects.create(
        agency=agency,
        provider_viewing_id=viewing_id,
        mspecs_deal_id="deal-1",
        viewing_type=Viewing.Type.TIME_SLOTS,
        title="Storgatan 1, 3 rok",
        address="Storgatan 1, Uppsala",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
    )
    past = timezone.now() - timedelta(hours=1)
    ViewingSlot.objects.create(
        viewing=viewing,
        provider_slot_id="slot-past",
        starts_at=past,
        ends_at=past + timedelta(minutes=15),
    )
    ViewingSlot.objects.create(
        viewing=viewing,
        provider_slot_id="slot-open",
        starts_at=start,
        ends_at=start + timedelta(minutes=15),
    )
    ViewingSlot.objects.create(
        viewing=viewing,
        provider_slot_id="slot-full",
        starts_at=start + timedelta(minutes=15),
        ends_at=start + timedelta(minutes=30),
        number_booked=5,
        fully_booked=True,
        status_checked_at=timezone.now(),
    )
    return viewing


def make_ordinary_viewing(agency: Agency, viewing_id: str = "view-2") -> Viewing:
    start = timezone.now() + timedelta(days=2)
    return Viewing.objects.create(
        agency=agency,
        provider_viewing_id=viewing_id,
        title="Lillgatan 2",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
    )


@pytest.fixture
def mspecs_agency(db):
    return make_agency("maklarna", BrokerSystem.MSPECS)


@pytest.fixture
def slot_viewing(mspecs_agency):
    return make_slot_viewing(mspecs_agency)


@pytest.fixture
def ordinary_viewing(mspecs_agency):
    return make_ordinary_viewing(mspecs_agency)


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
