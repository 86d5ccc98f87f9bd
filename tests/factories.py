"""Small factories for test data: sensible defaults, override what the test is about."""

from datetime import timedelta
from itertools import count

from django.contrib.auth import get_user_model
from django.utils import timezone, translation

from agencies.models import Agency, BrokerSystem, Membership, ProviderCredential
from agencies.problems import problem_text
from bookings.models import Booking, Viewing, ViewingSlot

_numbers = count(1)


def make_agency(
    broker_system=BrokerSystem.MSPECS,
    *,
    sandbox=None,
    base_url=None,
    with_credential=True,
    **fields,
):
    """An agency with a credential for the sandbox broker systems: at `sandbox` when given, else
    at an address where nothing answers."""
    n = next(_numbers)
    agency = Agency.objects.create(
        name=fields.pop("name", f"Agency {n}"),
        slug=fields.pop("slug", f"agency-{n}"),
        broker_system=broker_system,
        **fields,
    )
    is_vitec = broker_system == BrokerSystem.VITEC
    if sandbox is not None:
        base_url = sandbox.vitec_url if is_vitec else sandbox.mspecs_url
    if with_credential:
        ProviderCredential.objects.create(
            agency=agency,
            base_url=base_url or "http://127.0.0.1:9/api",
            username="sandbox",
            secret="sandbox-secret",
            vitec_customer_id="sandbox-customer" if is_vitec else "",
        )
    return agency


def make_viewing(agency=None, **fields):
    agency = agency or make_agency()
    starts_at = fields.pop("starts_at", timezone.now() + timedelta(days=2))
    if fields.get("viewing_type") == Viewing.Type.TIME_SLOTS:
        fields.setdefault("mspecs_deal_id", f"deal-{next(_numbers)}")
    return Viewing.objects.create(
        agency=agency,
        provider_viewing_id=fields.pop("provider_viewing_id", f"viewing-{next(_numbers)}"),
        title=fields.pop("title", "Storgatan 1"),
        starts_at=starts_at,
        ends_at=fields.pop("ends_at", starts_at + timedelta(hours=1)),
        **fields,
    )


def make_slot(viewing=None, **fields):
    viewing = viewing or make_viewing(viewing_type=Viewing.Type.TIME_SLOTS)
    starts_at = fields.pop("starts_at", viewing.starts_at)
    return ViewingSlot.objects.create(
        viewing=viewing,
        provider_slot_id=fields.pop("provider_slot_id", f"slot-{next(_numbers)}"),
        starts_at=starts_at,
        ends_at=fields.pop("ends_at", starts_at + timedelta(minutes=20)),
        **fields,
    )


def make_slot_viewing(agency, deal_id, slot_ids, *, starts_in=timedelta(days=3), **fields):
    """An open MSPECS time-slot viewing on `deal_id` with one 15-minute slot per id."""
    starts_at = timezone.now() + starts_in
    viewing = make_viewing(
        agency,
        mspecs_deal_id=deal_id,
        viewing_type=Viewing.Type.TIME_SLOTS,
        title=f"Deal {deal_id}",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=15 * max(len(slot_ids), 1)),
        **fields,
    )
    for index, slot_id in enumerate(slot_ids):
        make_slot(
            viewing,
            provider_slot_id=slot_id,
            starts_at=starts_at + timedelta(minutes=15 * index),
            ends_at=starts_at + timedelta(minutes=15 * (index + 1)),
        )
    return viewing


def unsaved_booking(viewing=None, slot=None, **fields):
    """A booking as intake receives it, before validation and saving."""
    return Booking(
        viewing=viewing or make_viewing(),
        slot=slot,
        first_name=fields.pop("first_name", "Anna"),
        last_name=fields.pop("last_name", "Andersson"),
        email=fields.pop("email", f"buyer{next(_numbers)}@example.se"),
        phone=fields.pop("phone", "+46701111111"),
        **fields,
    )


def make_booking(viewing=None, slot=None, **fields):
    """A saved booking, bypassing intake (no delivery is enqueued)."""
    booking = unsaved_booking(viewing, slot, **fields)
    booking.save()
    return booking


def delivered_booking(viewing, slot=None, *, delivered_at=None, **fields):
    """A booking as the delivery engine leaves it once the broker system took it."""
    return make_booking(
        viewing,
        slot,
        status=Booking.Status.DELIVERED,
        delivered_at=delivered_at or timezone.now(),
        **fields,
    )


def make_staff_user(*agencies, role=Membership.Role.STAFF, username=None):
    user = get_user_model().objects.create_user(
        username=username or f"user{next(_numbers)}", password="pw", is_staff=True
    )
    for agency in agencies:
        Membership.objects.create(user=user, agency=agency, role=role)
    return user


def in_english(problem) -> str:
    """A stored problem as staff reading the admin in English see it."""
    with translation.override("en"):
        return problem_text(problem)
