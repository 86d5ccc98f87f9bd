"""The nightly catch-up of missed MSPECS events (docs/mspecs.md, "When we read deal data"):
one read of each agency's published-deals list; the imported deals it lists are read
again, those it no longer lists are closed; nothing else is read."""

import zoneinfo
from datetime import datetime, timedelta

import pytest

from agencies.models import CredentialStatus, Provider
from bookings.models import Booking, Viewing
from bookings.providers.mspecs.schemas import CONTRACT
from bookings.viewing_import import tasks
from bookings.viewing_import.nightly import catch_up
from bookings.viewing_import.service import import_source
from tests.factories import make_booking, mspecs_deal, mspecs_slot_viewing, vitec_viewing

pytestmark = pytest.mark.django_db
START = datetime(2031, 6, 10, 17, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Stockholm"))
LIST_PATH = "/mspecs/api/marketing/deals"


def deal_path(deal_id):
    return f"{LIST_PATH}/{deal_id}"


def publish(sandbox, deal_id, slot_ids=("s-1",)):
    sandbox.set_mspecs_deal(
        deal_id, mspecs_deal(deal_id, [mspecs_slot_viewing(f"v-{deal_id}", START, slot_ids)])
    )


@pytest.fixture
def agency(make_agency, sandbox):
    """An MSPECS agency that imported deal-1 and deal-2."""
    agency = make_agency(Provider.MSPECS)
    for deal_id in ("deal-1", "deal-2"):
        publish(sandbox, deal_id)
        assert import_source(agency, deal_id).problem is None
    return agency


def test_the_list_is_read_once_and_the_listed_imported_deals_again(agency, sandbox):
    publish(sandbox, "deal-1", ["s-1", "s-2"])
    publish(sandbox, "deal-3")  # published, never imported

    summary = catch_up()

    assert sandbox.requests_to(LIST_PATH) == 1
    assert [sandbox.requests_to(deal_path(d)) for d in ("deal-1", "deal-2", "deal-3")] == [
        2,
        2,
        0,
    ]
    assert Viewing.objects.get(provider_viewing_id="v-deal-1").slots.count() == 2
    assert summary.lists_read == 1 and summary.synced.sources_read == 2


def test_the_list_request_and_answer_match_the_contract(agency, sandbox):
    catch_up()

    [request] = sandbox.published_deals_requests()
    assert CONTRACT.violations("published_deals_request", request) == []


def test_an_imported_deal_no_longer_listed_is_closed_and_its_bookings_set_aside(agency, sandbox):
    viewing = Viewing.objects.get(provider_viewing_id="v-deal-2")
    booking = make_booking(viewing, viewing.slots.get())
    sandbox.remove_mspecs_deal("deal-2")

    summary = catch_up()

    viewing.refresh_from_db()
    booking.refresh_from_db()
    assert summary.closed == 1
    assert not viewing.is_open and viewing.removed_from_source_at is not None
    assert booking.status == Booking.Status.REJECTED
    assert sandbox.requests_to(deal_path("deal-2")) == 1  # the import only


def test_a_list_that_cannot_be_read_changes_nothing(agency, sandbox):
    sandbox.set_fault(status=503, count=1)

    summary = catch_up()

    assert summary.errors and summary.lists_read == 0
    assert Viewing.objects.filter(is_open=True).count() == 2
    assert sandbox.requests_to(deal_path("deal-1")) == 1


def test_an_agency_with_a_failing_credential_is_not_called(agency, sandbox):
    agency.credential.status = CredentialStatus.FAILING
    agency.credential.save()
    before = sandbox.requests_served

    summary = catch_up()

    assert sandbox.requests_served == before
    assert "failing" in next(iter(summary.errors.values()))


def test_deals_whose_viewings_have_ended_are_not_read(agency, sandbox):
    Viewing.objects.update(
        starts_at=START - timedelta(days=3650), ends_at=START - timedelta(days=3649)
    )
    before = sandbox.requests_served

    catch_up()

    assert sandbox.requests_served == before


def test_systems_that_push_no_events_are_left_to_the_schedule(make_agency, sandbox):
    vitec = make_agency(Provider.VITEC)
    sandbox.set_vitec_estate("e-1", [vitec_viewing("w", START, ["t1"])])
    import_source(vitec, "e-1")
    before = sandbox.requests_served

    catch_up()

    assert sandbox.requests_served == before


def test_the_worker_runs_it_as_a_task(agency, sandbox):
    result = tasks.catch_up_source_events.call()

    assert "1 lists read" in result
