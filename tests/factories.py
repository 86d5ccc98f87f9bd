"""Test data, in one place: factories with sensible defaults (override what the test is
about), and what buyers and staff submit. Fixtures are in tests/conftest.py."""

import json
import socket
import zoneinfo
from datetime import UTC, timedelta
from itertools import count

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone, translation

from agencies.models import Agency, Membership, Provider, ProviderCredential
from agencies.problems import problem_text
from bookings.audit import By, Door
from bookings.delivery.schedule import wake_delivery
from bookings.models import Booking, Viewing, ViewingSlot
from bookings.providers.mspecs.demo import published_deal

_numbers = count(1)
STOCKHOLM = zoneinfo.ZoneInfo("Europe/Stockholm")
CREDENTIAL_FIELDS = {field.name for field in ProviderCredential._meta.get_fields()}


def make_agency(
    provider=Provider.MSPECS,
    *,
    sandbox=None,
    base_url=None,
    with_credential=True,
    **fields,
):
    """An agency with a credential for the sandbox providers: at `sandbox` when given,
    else at an address where nothing answers. Fields of the credential (secret, username,
    vitec_*...) go to the credential, the others to the agency."""
    credential_fields = {
        name: fields.pop(name) for name in list(fields) if name in CREDENTIAL_FIELDS
    }
    n = next(_numbers)
    agency = Agency.objects.create(
        name=fields.pop("name", f"Agency {n}"),
        slug=fields.pop("slug", f"agency-{n}"),
        provider=provider,
        **fields,
    )
    is_vitec = provider == Provider.VITEC
    if sandbox is not None:
        base_url = sandbox.vitec_url if is_vitec else sandbox.mspecs_url
    if with_credential:
        ProviderCredential.objects.create(
            agency=agency,
            base_url=base_url or "http://127.0.0.1:9/api",
            **{
                "username": "sandbox",
                "secret": "sandbox-secret",
                "vitec_customer_id": "sandbox-customer" if is_vitec else "",
                "mspecs_subscriber_id": "" if is_vitec else "sandbox-subscriber",
                **credential_fields,
            },
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


def migrate_back_to(targets):
    """Migrate the test database back to `targets` (app, migration) and return the models as
    they were then, for a migration test to make its old rows with."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def migrate_to_latest() -> None:
    """Migrate the test database forward to the newest migrations again."""
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def historical_viewing(apps):
    """A viewing and its agency made with a migration test's historical models (`apps`),
    from before agencies' migration 0014, when Agency.provider was named broker_system."""
    agency = apps.get_model("agencies", "Agency").objects.create(
        name="A", slug="a", broker_system="mspecs"
    )
    return apps.get_model("bookings", "Viewing").objects.create(
        agency=agency,
        provider_viewing_id="v1",
        title="Storgatan 1",
        starts_at=timezone.now(),
        ends_at=timezone.now() + timedelta(hours=1),
    )


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


def make_booking(
    viewing=None, slot=None, *, viewing_id="viewing-1", slot_id="slot-1", time_slots=False, **fields
):
    """A saved booking, as intake saves it but bypassing it (no delivery is enqueued);
    fields may be given bad values to provoke the provider.

    `viewing` may be an agency instead: the booking is then on the agency's viewing
    `viewing_id` (made the first time, with time slots when `time_slots`), in its slot
    `slot_id` where the viewing needs one."""
    if isinstance(viewing, Agency):
        viewing, slot = _viewing_and_slot(viewing, viewing_id, slot_id, time_slots)
    booking = unsaved_booking(viewing, slot, **fields)
    booking.save()
    return booking


def _viewing_and_slot(agency, viewing_id, slot_id, time_slots):
    viewing = Viewing.objects.filter(agency=agency, provider_viewing_id=viewing_id).first()
    if viewing is None:
        viewing_type = Viewing.Type.TIME_SLOTS if time_slots else Viewing.Type.ORDINARY
        viewing = make_viewing(agency, provider_viewing_id=viewing_id, viewing_type=viewing_type)
    if not viewing.needs_slot:
        return viewing, None
    slot = viewing.slots.filter(provider_slot_id=slot_id).first()
    return viewing, slot or make_slot(viewing, provider_slot_id=slot_id)


def queue(agency, n):
    """`n` bookings for the agency, each with its delivery woken."""
    bookings = [make_booking(agency) for _ in range(n)]
    for booking in bookings:
        wake_delivery(booking.pk)
    return bookings


def delivered_booking(viewing, slot=None, *, delivered_at=None, **fields):
    """A booking as the delivery engine leaves it once the provider took it."""
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


# The roles a rule about agency data is tested for: a superuser, the agency's administrator,
# its staff, and a user who is staff here and administrator of another agency.
ROLES = ["superuser", "administrator", "staff", "staff_here_administrator_there"]


def by_staff(*agencies) -> By:
    """A staff member acting on a booking's page: who acts, for tests not about it."""
    return By(make_staff_user(*agencies), Door.PAGE)


def make_user_in_role(role, agency, other_agency=None):
    """A staff user of `agency` in one of ROLES (the other agency made when not given)."""
    if role == "superuser":
        user = make_staff_user()
        user.is_superuser = True
        user.save()
        return user
    if role == "administrator":
        return make_staff_user(agency, role=Membership.Role.ADMIN)
    if role == "staff":
        return make_staff_user(agency)
    return make_mixed_user(agency, other_agency or make_agency())


def make_mixed_user(staff_agency, admin_agency):
    """A user who is staff in one agency and administrator in another."""
    user = make_staff_user(staff_agency)
    Membership.objects.create(user=user, agency=admin_agency, role=Membership.Role.ADMIN)
    return user


def in_english(problem) -> str:
    """A stored problem as staff reading the admin in English see it."""
    with translation.override("en"):
        return problem_text(problem)


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


# --- what buyers and staff submit -------------------------------------------------------

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
        "language": "sv",
        "lawful_basis": "asked_by_phone",
        "attempts-TOTAL_FORMS": "0",
        "attempts-INITIAL_FORMS": "0",
        **fields,
    }


def admin_agency_data(agency, **fields) -> dict:
    """The admin's agency form filled in as the agency stands; a box left out is unticked."""
    return {
        "name": agency.name,
        "slug": agency.slug,
        "provider": agency.provider,
        "phone_region": agency.phone_region,
        "is_active": "on",
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


def free_port() -> int:
    """A loopback port nothing listens on now (for a server a test has a command start)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- what the providers answer about deals and estates ---------------------------------


def broker_time(moment) -> str:
    """A time as the providers write it: Swedish local time without an offset."""
    return timezone.localtime(moment).replace(tzinfo=None).isoformat(timespec="seconds")


def mspecs_time(moment) -> str:
    """A time as MSPECS's OpenAPI types it (date-time): ISO 8601 with the Swedish offset."""
    return timezone.localtime(moment).isoformat(timespec="seconds")


def mspecs_slot_viewing(viewing_id, starts_at, slot_ids, *, free_spots=5, **fields):
    """An MSPECS time-slot viewing of a deal (marketing_viewingTimeSlot): one 20-minute
    slot per id."""
    return {
        "id": viewing_id,
        "type": "ENUMS_VIEWINGS_TYPE_TIME_SLOTS",
        "startDate": mspecs_time(starts_at),
        "allowExternalBooking": True,
        "slotLength": 20,
        "slotCapacity": 5,
        "hideStartDate": False,
        "slots": [
            {
                "id": slot_id,
                "startTime": mspecs_time(starts_at + timedelta(minutes=20 * index)),
                "freeSpots": free_spots,
            }
            for index, slot_id in enumerate(slot_ids)
        ],
        **fields,
    }


def mspecs_ordinary_viewing(viewing_id, starts_at, **fields):
    """An MSPECS viewing with a date and time (marketing_viewingDateTime), an hour long:
    booked without a slot."""
    return {
        "id": viewing_id,
        "type": "ENUMS_VIEWINGS_TYPE_DATE_AND_TIME",
        "startDate": mspecs_time(starts_at),
        "endDate": mspecs_time(starts_at + timedelta(hours=1)),
        "allowExternalBooking": True,
        **fields,
    }


def mspecs_date_only_viewing(viewing_id, day, **fields):
    """An MSPECS viewing with a date and no time (marketing_viewingDate): booked by date."""
    return {
        "id": viewing_id,
        "type": "ENUMS_VIEWINGS_TYPE_DATE_ONLY",
        "startDate": day.isoformat(),
        "allowExternalBooking": True,
        **fields,
    }


def mspecs_deal(deal_id, viewings, *, sale_status="ENUMS_SALE_STATUS_FOR_SALE", **fields):
    """A published deal (a house in Uppsala) as MSPECS answers it, `fields` over it."""
    deal = published_deal(
        deal_id,
        viewings,
        location={"streetAddress": "Storgatan 1", "postalCode": "753 20", "city": "Uppsala"},
        updated="2031-01-10T09:00:00Z",
        sale_status=sale_status,
        object_type=("OBJECT_TYPE_HOUSE", "Småhus"),
    )
    return {**deal, **fields}


def mspecs_sold_deal(deal_id):
    """A sold deal as `GET /api/marketing/deals/{dealId}` answers it (marketing_soldDealRoot:
    no viewings)."""
    deal = mspecs_deal(deal_id, [], sale_status="ENUMS_SALE_STATUS_SOLD")
    del deal["viewings"]
    return deal


def vitec_time(moment) -> str:
    """A time as Vitec writes it: Swedish local time with its offset."""
    return timezone.localtime(moment, STOCKHOLM).isoformat()


def vitec_viewing(viewing_id, starts_at, slot_ids, *, participants=None, **fields):
    """A Vitec viewing as `GET Viewing/{customerId}/{estateId}` lists it (the contract's
    viewings.schema.json): 30-minute time slots of 3 places; `participants`: slotId -> how
    many participants Vitec lists in it."""
    participants = participants or {}
    ends_at = starts_at + timedelta(minutes=30 * max(len(slot_ids), 1))
    return {
        "id": viewing_id,
        "startsAt": vitec_time(starts_at),
        "endsAt": vitec_time(ends_at),
        "showOnInternet": True,
        "showOnIntranet": False,
        "isDigital": False,
        "commentary": "",
        "participantPerTimeSlot": 3,
        "bookableFromInternet": True,
        "noLaterThen": None,
        "bookingUrl": f"https://example.se/book/{viewing_id}",
        "timeSlots": [
            {
                "id": slot_id,
                "startsAt": vitec_time(starts_at + timedelta(minutes=30 * index)),
                "endsAt": vitec_time(starts_at + timedelta(minutes=30 * (index + 1))),
                "participants": [
                    {"contactId": f"ADR-{slot_id}-{n}", "hasParticipated": False}
                    for n in range(participants.get(slot_id, 0))
                ],
            }
            for index, slot_id in enumerate(slot_ids)
        ],
        "isProjectViewing": False,
        **fields,
    }


# --- MSPECS's MSPX tables (the External viewing API's reads, docs/mspecs.md "Two APIs") ----


def mspx_time(moment) -> str:
    """A datetime as MSPX sends every one: ISO 8601 in UTC, e.g. 2017-06-25T11:00:00.000Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def mspx_viewing_row(viewing_id, deal_id, starts_at, *, slot_length=20, **fields):
    """A row of MSPX's viewings table: a time-slot viewing unless `type` says otherwise."""
    return {
        "id": viewing_id,
        "dealId": deal_id,
        "type": "ENUMS_VIEWINGS_TYPE_TIME_SLOTS",
        "startDate": mspx_time(starts_at),
        "endDate": None,
        "allowExternalBooking": True,
        "externalBookingLatestHourBefore": None,
        "slotLength": slot_length,
        "slotCapacity": 5,
        **fields,
    }


def mspx_slot_rows(viewing_id, starts_at, slot_ids, *, slot_length=20):
    """Rows of MSPX's viewingSlots table: one slot after the other."""
    return [
        {
            "id": slot_id,
            "viewingId": viewing_id,
            "startTime": mspx_time(starts_at + timedelta(minutes=slot_length * index)),
        }
        for index, slot_id in enumerate(slot_ids)
    ]


def put_mspx_deal(sandbox, deal_id, viewing_rows=(), slot_rows=(), **deal_fields):
    """Put a deal, its viewings and their slots in the sandbox's MSPX tables."""
    deal = {"id": deal_id, "streetAddress": "Storgatan 1", "postalCode": "753 20"}
    sandbox.set_mspx_row("deals", {**deal, "city": "Uppsala", **deal_fields})
    for row in viewing_rows:
        sandbox.set_mspx_row("viewings", row)
    for row in slot_rows:
        sandbox.set_mspx_row("viewingSlots", row)
