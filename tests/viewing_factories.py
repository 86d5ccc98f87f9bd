"""Agencies, viewings, slots and bookings for tests, pointed at a live sandbox."""

from datetime import timedelta
from itertools import count

from django.contrib.auth.models import User
from django.utils import timezone

from agencies.models import Agency, BrokerSystem, Membership, ProviderCredential
from bookings.models import Booking, Viewing, ViewingSlot

_numbers = count(1)


def make_agency(sandbox=None, broker_system=BrokerSystem.MSPECS, name=None) -> Agency:
    number = next(_numbers)
    agency = Agency.objects.create(
        name=name or f"Agency {number}", slug=f"agency-{number}", broker_system=broker_system
    )
    if sandbox is not None:
        is_mspecs = broker_system == BrokerSystem.MSPECS
        ProviderCredential.objects.create(
            agency=agency,
            base_url=sandbox.mspecs_url if is_mspecs else sandbox.vitec_url,
            username="sandbox",
            secret="sandbox-secret",
            vitec_customer_id="" if is_mspecs else "sandbox-customer",
        )
    return agency


def make_slot_viewing(agency, deal_id, slot_ids, *, starts_in=timedelta(days=3), **fields):
    """An open MSPECS time-slot viewing on `deal_id` with one 15-minute slot per id."""
    starts_at = timezone.now() + starts_in
    viewing = Viewing.objects.create(
        agency=agency,
        provider_viewing_id=f"viewing-{next(_numbers)}",
        mspecs_deal_id=deal_id,
        viewing_type=Viewing.Type.TIME_SLOTS,
        title=f"Deal {deal_id}",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=15 * max(len(slot_ids), 1)),
        **fields,
    )
    for index, slot_id in enumerate(slot_ids):
        ViewingSlot.objects.create(
            viewing=viewing,
            provider_slot_id=slot_id,
            starts_at=starts_at + timedelta(minutes=15 * index),
            ends_at=starts_at + timedelta(minutes=15 * (index + 1)),
        )
    return viewing


def make_ordinary_viewing(agency, **fields):
    starts_at = timezone.now() + timedelta(days=3)
    return Viewing.objects.create(
        agency=agency,
        provider_viewing_id=f"viewing-{next(_numbers)}",
        title="Open house",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
        **fields,
    )


def unsaved_booking(viewing, slot=None, **fields) -> Booking:
    values = {
        "first_name": "Anna",
        "last_name": "Berg",
        "email": "anna@example.se",
        "phone": "+46701111111",
    }
    return Booking(viewing=viewing, slot=slot, **(values | fields))


def make_staff_member(username, *agencies):
    user = User.objects.create(username=username, is_staff=True)
    for agency in agencies:
        Membership.objects.create(user=user, agency=agency)
    return user


def delivered_booking(viewing, slot=None, *, delivered_at=None, **fields) -> Booking:
    """A booking as the delivery engine leaves it once the broker system took it."""
    booking = unsaved_booking(viewing, slot, **fields)
    booking.status = Booking.Status.DELIVERED
    booking.delivered_at = delivered_at or timezone.now()
    booking.save()
    return booking
