"""MSPECS deals as MSPECS publishes them (docs/mspecs.md): date-only viewings imported and
booked by date, hideStartDate kept off the public page, a sold or unpublished deal closing
its viewings, MSPECS's own words when it refuses, and an answer of another shape refused
with the field named. Over real HTTP against the sandbox, in MSPECS's shapes."""

import zoneinfo
from datetime import date, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import translation

from agencies.models import Membership, Provider
from bookings.delivery.sending import deliver
from bookings.models import Booking, Viewing, ViewingChange
from bookings.providers.mspecs import PLUGIN
from bookings.viewing_import.service import import_source
from bookings.viewing_import.sync import sources_of, sync_sources, syncable_viewings
from tests.factories import (
    delivered_booking,
    in_english,
    make_booking,
    make_staff_user,
    mspecs_date_only_viewing,
    mspecs_deal,
    mspecs_ordinary_viewing,
    mspecs_slot_viewing,
    mspecs_sold_deal,
)

STOCKHOLM = zoneinfo.ZoneInfo("Europe/Stockholm")
DAY = date(2031, 6, 14)
START = datetime(2031, 6, 10, 17, 0, tzinfo=STOCKHOLM)
Status = Booking.Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def agency(make_agency):
    return make_agency(Provider.MSPECS, name="Mäklarhuset")


def imported(agency, sandbox, *viewings, deal_id="deal-1") -> list[Viewing]:
    sandbox.set_mspecs_deal(deal_id, mspecs_deal(deal_id, list(viewings)))
    result = import_source(agency, deal_id)
    assert result.problem is None
    return result.viewings


def sync_all():
    return sync_sources(sources_of(syncable_viewings()))


def book_on_the_page(client, viewing, **fields):
    data = {
        "first_name": "Anna",
        "last_name": "Andersson",
        "email": "anna@example.se",
        "phone": "070-111 11 11",
        "consent": "on",
        "website": "",
        **fields,
    }
    url = reverse("booking-page", args=[viewing.public_id])
    return client.post(url, data, HTTP_ACCEPT_LANGUAGE="en")


# --- date-only viewings ----------------------------------------------------------------------


def test_a_date_only_viewing_is_imported_as_its_day_in_swedish_time(agency, sandbox):
    [viewing] = imported(
        agency, sandbox, mspecs_date_only_viewing("v-day", DAY, externalBookingLatestHourBefore=6)
    )

    assert viewing.date_only and viewing.viewing_type == Viewing.Type.ORDINARY
    assert viewing.starts_at == datetime(2031, 6, 14, 0, 0, tzinfo=STOCKHOLM)
    assert viewing.ends_at == datetime(2031, 6, 15, 0, 0, tzinfo=STOCKHOLM)
    # "hours before startDate": before the day begins.
    assert viewing.booking_closes_at == datetime(2031, 6, 13, 18, 0, tzinfo=STOCKHOLM)
    assert not viewing.slots.exists()


def test_staff_see_a_date_only_viewing_by_its_day(agency, sandbox):
    [viewing] = imported(agency, sandbox, mspecs_date_only_viewing("v-day", DAY))

    assert str(viewing) == "Storgatan 1 (2031-06-14)"


def test_a_date_only_viewing_is_offered_and_booked_by_its_date(agency, sandbox, client):
    [viewing] = imported(agency, sandbox, mspecs_date_only_viewing("v-day", DAY))

    page = client.get(reverse("booking-page", args=[viewing.public_id]), HTTP_ACCEPT_LANGUAGE="en")
    response = book_on_the_page(client, viewing)

    assert '<time datetime="2031-06-14">Saturday 14 June 2031</time>' in page.content.decode()
    assert "00:00" not in page.content.decode()
    assert response.status_code == 302
    booking = Booking.objects.get()
    assert booking.slot is None and booking.booked_by_date
    assert deliver(booking.pk) == "delivered"
    [received] = sandbox.received("mspecs")
    assert received["path"] == "/mspecs/api/marketing/deals/deal-1/externalViewer/v-day"
    assert PLUGIN.contract.violations("external_viewer", received["body"]) == []


def test_a_date_only_viewing_that_becomes_timed_shows_its_times_again(agency, sandbox):
    [viewing] = imported(agency, sandbox, mspecs_date_only_viewing("v-day", DAY))
    timed = mspecs_ordinary_viewing("v-day", datetime(2031, 6, 14, 13, 0, tzinfo=STOCKHOLM))
    sandbox.set_mspecs_deal("deal-1", mspecs_deal("deal-1", [timed]))

    sync_all()

    viewing.refresh_from_db()
    assert not viewing.date_only
    assert viewing.starts_at == datetime(2031, 6, 14, 13, 0, tzinfo=STOCKHOLM)


# --- hideStartDate ---------------------------------------------------------------------------


def test_hide_start_date_keeps_the_viewings_times_off_the_public_page(agency, sandbox, client):
    [viewing] = imported(
        agency, sandbox, mspecs_slot_viewing("v", START, ["s-1", "s-2"], hideStartDate=True)
    )

    text = client.get(
        reverse("booking-page", args=[viewing.public_id]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert viewing.hide_times
    assert '<time datetime="2031-06-10">Tuesday 10 June 2031</time>' in text
    assert "17:00–17:40" not in text  # the viewing's start and end
    assert "10 June 17:20–17:40" in text  # the slots are still there to choose from


def test_without_hide_start_date_the_viewings_times_are_shown(agency, sandbox, client):
    [viewing] = imported(agency, sandbox, mspecs_slot_viewing("v", START, ["s-1", "s-2"]))

    text = client.get(
        reverse("booking-page", args=[viewing.public_id]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert "Tuesday 10 June 2031, 17:00–17:40" in text


# --- sold and unpublished deals ----------------------------------------------------------------


@pytest.fixture
def deal_with_bookings(agency, sandbox):
    """deal-1 imported: a time-slot viewing and an ordinary one, each with a booking waiting
    to be sent and one delivered."""
    slots, ordinary = imported(
        agency,
        sandbox,
        mspecs_slot_viewing("v-slots", START, ["s-1"]),
        mspecs_ordinary_viewing("v-open", START + timedelta(days=1)),
    )
    slot = slots.slots.get()
    return {
        "viewings": [slots, ordinary],
        "waiting": [make_booking(slots, slot), make_booking(ordinary, None, email="b@example.se")],
        "delivered": delivered_booking(ordinary, email="c@example.se"),
    }


def test_a_sold_deal_closes_its_viewings_and_sets_waiting_bookings_aside(
    deal_with_bookings, sandbox
):
    sandbox.set_mspecs_deal("deal-1", mspecs_sold_deal("deal-1"))

    sync_all()

    for viewing in deal_with_bookings["viewings"]:
        viewing.refresh_from_db()
        assert not viewing.is_open and viewing.removed_from_source_at is not None
        assert viewing.changes.filter(kind=ViewingChange.Kind.REMOVED).exists()
        assert in_english(viewing.sync_problem) == (
            "deal-1 is sold in the broker system. Its viewings are closed for booking, and "
            "bookings still waiting to be sent are set aside."
        )
    slot_booking, viewing_booking = deal_with_bookings["waiting"]
    slot_booking.refresh_from_db()
    viewing_booking.refresh_from_db()
    assert slot_booking.status == viewing_booking.status == Status.REJECTED
    assert "the viewing is no longer listed" in in_english(viewing_booking.last_problem)
    deal_with_bookings["delivered"].refresh_from_db()
    assert deal_with_bookings["delivered"].status == Status.DELIVERED


def test_a_set_aside_booking_is_never_sent(deal_with_bookings, sandbox):
    sandbox.remove_mspecs_deal("deal-1")
    sync_all()

    for booking in deal_with_bookings["waiting"]:
        deliver(booking.pk)

    assert sandbox.received("mspecs") == []


def test_an_unpublished_deal_closes_its_viewings_and_opens_them_when_published_again(
    deal_with_bookings, sandbox
):
    sandbox.remove_mspecs_deal("deal-1")  # MSPECS answers NoDealFoundError (404)

    summary = sync_all()
    again = sync_all()

    ordinary = deal_with_bookings["viewings"][1]
    ordinary.refresh_from_db()
    assert not ordinary.is_open and summary.errors == {}
    assert "deal-1 is not published in the broker system (HTTP 404)" in in_english(
        ordinary.sync_problem
    )
    assert again.rows_written == 0  # closed once, not again
    sandbox.set_mspecs_deal(
        "deal-1",
        mspecs_deal("deal-1", [mspecs_ordinary_viewing("v-open", START + timedelta(days=1))]),
    )
    sync_all()
    ordinary.refresh_from_db()
    assert ordinary.is_open and ordinary.sync_problem is None
    assert ordinary.changes.filter(kind=ViewingChange.Kind.RETURNED).exists()


def test_a_sold_deal_imports_nothing_and_says_so(agency, sandbox):
    sandbox.set_mspecs_deal("deal-9", mspecs_sold_deal("deal-9"))

    result = import_source(agency, "deal-9")

    assert in_english(result.problem) == "deal-9 is sold in the broker system."
    assert not Viewing.objects.exists()


@pytest.mark.parametrize("role", ["superuser", "administrator", "staff", "staff-elsewhere-admin"])
def test_staff_see_why_a_deals_viewings_closed(
    deal_with_bookings, sandbox, client, make_agency, role
):
    agency = deal_with_bookings["viewings"][0].agency
    if role == "superuser":
        user = get_user_model().objects.create_superuser("root", password="pw")
    elif role == "administrator":
        user = make_staff_user(agency, role=Membership.Role.ADMIN)
    else:
        user = make_staff_user(agency)
        if role == "staff-elsewhere-admin":
            other = make_agency(Provider.VITEC, slug="other")
            Membership.objects.create(user=user, agency=other, role=Membership.Role.ADMIN)
    client.force_login(user)
    sandbox.set_mspecs_deal("deal-1", mspecs_sold_deal("deal-1"))
    sync_all()
    viewing = deal_with_bookings["viewings"][1]

    page = client.get(
        reverse("admin:bookings_viewing_change", args=[viewing.pk]), HTTP_ACCEPT_LANGUAGE="sv"
    )

    assert "deal-1 är sålt i mäklarsystemet. Dess visningar är stängda för bokning" in (
        page.content.decode()
    )


# --- MSPECS's words for staff, and answers of another shape -------------------------------------


@pytest.mark.parametrize(
    "body",
    [{"message": "Invalid phone number"}, [{"message": "Invalid phone number"}]],
    ids=["message", "list of messages"],
)
def test_staff_read_mspecs_own_words_when_it_refuses_a_booking(agency, sandbox, body):
    booking = make_booking(agency)
    sandbox.set_fault(status=400, body=body, count=1)

    assert deliver(booking.pk) == "rejected"

    booking.refresh_from_db()
    assert in_english(booking.last_problem) == (
        "The broker system rejected the booking (HTTP 400): Invalid phone number"
    )
    with translation.override("sv"):
        assert str(booking.last_problem) == (
            "Mäklarsystemet avvisade bokningen (HTTP 400): Invalid phone number"
        )


def test_a_400_without_mspecs_words_says_the_status(agency, sandbox):
    booking = make_booking(agency)
    sandbox.set_fault(status=400, body={"errors": "not MSPECS's shape"}, count=1)

    deliver(booking.pk)

    booking.refresh_from_db()
    assert in_english(booking.last_problem) == "The broker system rejected the booking (HTTP 400)."


def test_mspecs_words_are_shown_when_a_deal_cannot_be_read(agency, sandbox):
    sandbox.set_fault(status=400, body={"message": "Invalid ID supplied"}, count=1)

    result = import_source(agency, "deal-1")

    assert "HTTP 400: Invalid ID supplied" in in_english(result.problem)


def test_mspecs_words_ending_in_a_full_stop_are_not_given_a_second(agency, sandbox):
    sandbox.set_fault(status=400, body={"message": "Invalid ID supplied."}, count=1)

    result = import_source(agency, "deal-1")

    assert "HTTP 400: Invalid ID supplied. Try again later." in in_english(result.problem)


def test_a_deal_answer_with_a_wrong_type_names_the_field_and_imports_nothing(agency, sandbox):
    good = mspecs_slot_viewing("v-1", START, ["s-1"])
    wrong = mspecs_slot_viewing("v-2", START, ["s-2"], slotCapacity="five")
    sandbox.set_fault(status=200, body=mspecs_deal("deal-1", [good, wrong]), count=1)

    result = import_source(agency, "deal-1")

    assert in_english(result.problem) == (
        "The broker system's answer for deal-1 has an unexpected shape "
        "(viewings[1].slotCapacity: 'five' is not of type 'integer'); nothing was changed."
    )
    assert not Viewing.objects.exists()


def test_an_answer_of_another_shape_is_logged_with_the_secret_masked(make_agency, sandbox, caplog):
    agency = make_agency(Provider.MSPECS, secret="Hemligt-lösen-42")
    echoing = {**mspecs_ordinary_viewing("v", START), "type": "Hemligt-lösen-42"}
    sandbox.set_fault(status=200, body=mspecs_deal("deal-1", [echoing]), count=1)

    result = import_source(agency, "deal-1")

    [record] = [r for r in caplog.records if r.name == "bookings.providers.base"]
    assert "viewings[0].type" in record.getMessage()
    assert (record.agency_id, record.source_id) == (agency.pk, "deal-1")
    assert "Hemligt-lösen-42" not in record.getMessage()
    assert "Hemligt-lösen-42" not in in_english(result.problem)
