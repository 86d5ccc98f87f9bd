"""MSPECS's contract (bookings/providers/mspecs/contract/, docs/mspecs.md) holds every side:
the vendor's examples match their schemas and our reader reads them; the requests our
client sends and the sandbox's answers on every MSPECS route match it, over real HTTP."""

from datetime import UTC, datetime, timedelta

import pytest
import requests

from agencies.models import Provider
from bookings.delivery.sending import deliver
from bookings.models import Viewing
from bookings.providers import client_for
from bookings.providers.contracts import ContractViolation
from bookings.providers.mspecs import PLUGIN
from bookings.providers.mspecs.client import SlotStatus
from tests.factories import make_booking, mspecs_deal, mspecs_sold_deal

CONTRACT = PLUGIN.contract
SUBSCRIBER = {"subscriber-id": "sandbox-subscriber"}


def mspecs_get(sandbox, path):
    return requests.get(
        f"{sandbox.mspecs_url}{path}",
        auth=("sandbox", "sandbox-secret"),
        headers=SUBSCRIBER,
        timeout=5,
    )


def mspecs_post(sandbox, path, body):
    return requests.post(
        f"{sandbox.mspecs_url}{path}",
        json=body,
        auth=("sandbox", "sandbox-secret"),
        headers=SUBSCRIBER,
        timeout=5,
    )


# --- our reader and the vendor's examples (every example matches its schema:
# tests/contracts/test_every_contract.py) ---------------------------------------------------


@pytest.mark.django_db
def test_the_reader_reads_the_vendors_deal_example(make_agency, sandbox):
    deal = CONTRACT.example("deal")
    sandbox.set_mspecs_deal(deal["id"], deal)
    agency = make_agency(Provider.MSPECS)

    timed, ordinary, day = client_for(agency.credential).fetch_viewings(deal["id"])

    assert (timed.viewing_type, timed.date_only) == (Viewing.Type.TIME_SLOTS, False)
    assert timed.starts_at == datetime(2031, 6, 10, 15, 0, tzinfo=UTC)
    assert timed.booking_closes_at == datetime(2031, 6, 10, 13, 0, tzinfo=UTC)
    assert [(s.slot_id, s.free_spots, s.capacity) for s in timed.slots] == [
        ("MDAwMnwwMDAwMDAwMDI3NHwyNzg.", 0, 4),
        ("MDAwMnwwMDAwMDAwMDI3NXwyNzg.", 4, 4),
    ]
    assert timed.slots[1].ends_at == datetime(2031, 6, 10, 15, 40, tzinfo=UTC)
    assert (timed.title, timed.address) == ("Råsundavägen 4", "Råsundavägen 4, 169 67 Solna")
    assert ordinary.viewing_type == Viewing.Type.ORDINARY and ordinary.slots == []
    assert ordinary.ends_at - ordinary.starts_at == timedelta(hours=1)
    assert day.date_only and day.viewing_type == Viewing.Type.ORDINARY
    # COMMENT_ONLY and CONTACT_BROKER name no time to book: not read.


@pytest.mark.django_db
def test_the_reader_reads_the_vendors_slot_status_example(make_agency, sandbox):
    agency = make_agency(Provider.MSPECS)
    sandbox.set_fault(status=200, body=CONTRACT.example("slot_status"), count=1)

    status = client_for(agency.credential).slot_status("deal-1")

    assert status == {
        "MDAwMnwwMDAwMDAwMDI3NHwyNzg.": SlotStatus(4, True),
        "MDAwMnwwMDAwMDAwMDI3NXwyNzg.": SlotStatus(0, False),
    }


# --- the requests our client sends -----------------------------------------------------------


@pytest.mark.parametrize("time_slots", [False, True], ids=["viewing", "slot"])
@pytest.mark.django_db
def test_the_delivery_request_matches_the_external_viewer_schema(make_agency, sandbox, time_slots):
    sandbox.set_deal("deal-1", {"slot-1": 5})
    booking = make_booking(make_agency(Provider.MSPECS), time_slots=time_slots)

    _, body = client_for(booking.agency.credential).delivery_request(booking)
    assert deliver(booking.pk) == "delivered"

    [received] = sandbox.received("mspecs")
    assert CONTRACT.violations("external_viewer", body) == []
    assert CONTRACT.violations("external_viewer", received["body"]) == []


# --- the sandbox's answers, route by route ---------------------------------------------------


def test_the_sandbox_answers_a_deal_as_mspecs_shapes_it(sandbox):
    sandbox.set_mspecs_deal("deal-1", mspecs_deal("deal-1", []))
    sandbox.set_mspecs_deal("deal-2", mspecs_sold_deal("deal-2"))

    for deal_id in ("deal-1", "deal-2"):
        answer = mspecs_get(sandbox, f"/api/marketing/deals/{deal_id}")
        assert answer.status_code == 200
        assert CONTRACT.violations("deal", answer.json()) == []


def test_the_sandbox_answers_an_unknown_deal_with_a_no_deal_found_error(sandbox):
    answer = mspecs_get(sandbox, "/api/marketing/deals/deal-404")

    assert answer.status_code == 404
    assert CONTRACT.violations("no_deal_found_error", answer.json()) == []


def test_the_sandbox_answers_slot_status_as_the_document_shows_it(sandbox):
    sandbox.set_deal("deal-1", {"s-1": 2, "s-2": 3}, booked={"s-1": 2})

    answer = mspecs_get(sandbox, "/v3/viewings/slot/status/deal-1")
    unknown = mspecs_get(sandbox, "/v3/viewings/slot/status/deal-404")

    assert answer.status_code == 200
    assert CONTRACT.violations("slot_status", answer.json()) == []
    assert answer.json()["s-1"] == {"numberOfBooked": 2, "fullyBooked": True}
    assert unknown.status_code == 404
    assert CONTRACT.violations("no_deal_found_error", unknown.json()) == []


# The external viewer's routes of both MSPECS APIs (docs/mspecs.md, "Two APIs"): the
# External viewing API's v3 route and the provider API's deal-scoped one.
VIEWER_ROUTES = {
    "v3": "/v3/viewings/externalViewer/v-1",
    "v3 slot": "/v3/viewings/externalViewer/v-1/slot/s-1",
    "deal-scoped": "/api/marketing/deals/deal-1/externalViewer/v-1",
    "deal-scoped slot": "/api/marketing/deals/deal-1/externalViewer/v-1/slot/s-1",
}


@pytest.mark.parametrize("path", VIEWER_ROUTES.values(), ids=VIEWER_ROUTES)
def test_the_sandbox_takes_an_external_viewer_with_a_bodiless_200(sandbox, path):
    sandbox.set_deal("deal-1", {"s-1": 5})

    answer = mspecs_post(sandbox, path, CONTRACT.example("external_viewer"))

    assert answer.status_code == 200 and answer.content == b""


VIEWER = CONTRACT.example("external_viewer")
# The published limits: each at its longest is taken, one character more is refused.
LONGEST = {
    "firstName": "A" * 60,
    "lastName": "B" * 60,
    "email": "e" * 70 + "@mspecs.se",
    "phoneNumber": "+" + "4" * 24,
}


@pytest.mark.parametrize("field", LONGEST)
def test_the_sandbox_holds_external_viewers_to_the_published_lengths(sandbox, field):
    longest = {**VIEWER, field: LONGEST[field]}
    too_long = {**VIEWER, field: LONGEST[field][0] + LONGEST[field]}

    taken = mspecs_post(sandbox, "/v3/viewings/externalViewer/v-1", longest)
    refused = mspecs_post(sandbox, "/v3/viewings/externalViewer/v-1", too_long)

    assert taken.status_code == 200
    assert refused.status_code == 400
    assert CONTRACT.violations("bad_request_error", refused.json()) == []
    assert refused.json()["message"].startswith(f"{field}: ")


BAD_VIEWERS = {
    "no first name": ({k: v for k, v in VIEWER.items() if k != "firstName"}, "'firstName'"),
    "a national phone number": ({**VIEWER, "phoneNumber": "0701111111"}, "phoneNumber: "),
    "not an email": ({**VIEWER, "email": "foo.bar"}, "email: "),
    "a field MSPECS does not know": ({**VIEWER, "message": "Hej"}, "'message'"),
    "not an object": (["a list"], "is not of type 'object'"),
}


@pytest.mark.parametrize("path", VIEWER_ROUTES.values(), ids=VIEWER_ROUTES)
@pytest.mark.parametrize(("body", "named"), BAD_VIEWERS.values(), ids=BAD_VIEWERS)
def test_the_sandbox_refuses_a_bad_external_viewer_with_a_bad_request_error(
    sandbox, body, named, path
):
    answer = mspecs_post(sandbox, path, body)

    assert answer.status_code == 400
    assert CONTRACT.violations("bad_request_error", answer.json()) == []
    assert named in answer.json()["message"]


def test_the_sandbox_refuses_a_full_slot_and_a_removed_viewing_in_mspecs_shapes(sandbox):
    sandbox.set_deal("deal-1", {"s-full": 0})
    sandbox.remove_viewing("v-gone")

    full = mspecs_post(sandbox, "/v3/viewings/externalViewer/v-1/slot/s-full", VIEWER)
    gone = mspecs_post(sandbox, "/v3/viewings/externalViewer/v-gone", VIEWER)

    assert full.status_code == 400 and gone.status_code == 404
    for answer in (full, gone):
        assert CONTRACT.violations("bad_request_error", answer.json()) == []


def test_the_sandbox_refuses_a_provider_call_without_subscriber_as_a_bad_request_error(sandbox):
    sandbox.set_mspecs_deal("deal-1", mspecs_deal("deal-1", []))

    answers = [
        requests.get(f"{sandbox.mspecs_url}{path}", auth=("sandbox", "sandbox-secret"), timeout=5)
        for path in ("/api/marketing/deals", "/api/marketing/deals/deal-1")
    ]

    for answer in answers:
        assert answer.status_code == 400
        assert CONTRACT.violations("bad_request_error", answer.json()) == []
        assert "subscriber-id" in answer.json()["message"]


def test_the_sandbox_keeps_no_deal_of_another_shape(sandbox):
    wrong = {**mspecs_deal("deal-1", []), "viewings": [{"id": "v", "startTime": "17:00"}]}

    with pytest.raises(ContractViolation) as violation:
        sandbox.set_mspecs_deal("deal-1", wrong)
    over_http = requests.post(f"{sandbox.url}/_sandbox/mspecs-deals/deal-1", json=wrong, timeout=5)

    assert violation.value.field == "viewings[0]"
    assert over_http.status_code == 400
    assert mspecs_get(sandbox, "/api/marketing/deals/deal-1").status_code == 404
