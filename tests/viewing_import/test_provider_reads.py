"""Reading deals (MSPECS) and estates (Vitec) from the sandbox over real HTTP: the shapes
assumed in docs/mspecs.md and docs/vitec.md, and every way a read goes wrong (Vitec's own
reads: test_vitec_reads.py)."""

import zoneinfo
from datetime import datetime, timedelta

import pytest
import requests

from agencies.models import AuthScheme, Provider
from bookings.models import Viewing
from bookings.providers import client_for
from bookings.providers.base import SourceReadError
from tests.factories import (
    mspecs_date_only_viewing,
    mspecs_deal,
    mspecs_ordinary_viewing,
    mspecs_slot_viewing,
)

STOCKHOLM = zoneinfo.ZoneInfo("Europe/Stockholm")
# A summer and a winter time: the offset differs (+02:00 / +01:00).
SUMMER = datetime(2031, 6, 10, 17, 0, tzinfo=STOCKHOLM)
WINTER = datetime(2031, 12, 10, 17, 0, tzinfo=STOCKHOLM)

pytestmark = pytest.mark.django_db


def read_error(client, source_id) -> str:
    with pytest.raises(SourceReadError) as error:
        client.fetch_viewings(source_id)
    return str(error.value.problem)


def test_an_mspecs_deal_reads_as_viewings_with_swedish_times_slots_and_places(make_agency, sandbox):
    agency = make_agency(Provider.MSPECS)
    slots = mspecs_slot_viewing(
        "v-1", SUMMER, ["s-1", "s-2"], free_spots=2, externalBookingLatestHourBefore=3
    )
    sandbox.set_mspecs_deal(
        "deal-1", mspecs_deal("deal-1", [slots, mspecs_ordinary_viewing("v-2", WINTER)])
    )

    timed, ordinary = client_for(agency.credential).fetch_viewings("deal-1")

    assert timed.viewing_type == Viewing.Type.TIME_SLOTS
    assert timed.starts_at == SUMMER and timed.starts_at.utcoffset() == timedelta(hours=2)
    assert timed.ends_at == SUMMER + timedelta(minutes=40)
    assert timed.booking_closes_at == SUMMER - timedelta(hours=3)
    assert [(s.slot_id, s.free_spots, s.capacity) for s in timed.slots] == [
        ("s-1", 2, 5),
        ("s-2", 2, 5),
    ]
    assert timed.title == "Storgatan 1"
    assert timed.address == "Storgatan 1, 753 20 Uppsala"
    assert ordinary.viewing_type == Viewing.Type.ORDINARY
    assert ordinary.starts_at == WINTER and ordinary.starts_at.utcoffset() == timedelta(hours=1)
    assert ordinary.slots == []


def test_mspecs_viewings_without_a_bookable_time_are_left_out(make_agency, sandbox):
    agency = make_agency(Provider.MSPECS)
    others = [
        {"id": "v-comment", "type": "ENUMS_VIEWINGS_TYPE_COMMENT_ONLY", "description": "Ring"},
        {"id": "v-contact", "type": "ENUMS_VIEWINGS_TYPE_CONTACT_BROKER"},
    ]
    sandbox.set_mspecs_deal("deal-1", mspecs_deal("deal-1", others))

    assert client_for(agency.credential).fetch_viewings("deal-1") == []


def test_an_mspecs_read_sends_the_subscriber_id_and_is_one_request(make_agency, sandbox):
    agency = make_agency(Provider.MSPECS)
    sandbox.set_mspecs_deal("deal-1", mspecs_deal("deal-1", []))

    client_for(agency.credential).fetch_viewings("deal-1")

    assert sandbox.requests_to("/mspecs/api/marketing/deals/deal-1") == 1
    assert sandbox.requests_served == 1


def test_an_mspecs_credential_without_the_subscriber_id_is_told_so(make_agency, sandbox):
    agency = make_agency(Provider.MSPECS, mspecs_subscriber_id="")
    sandbox.set_mspecs_deal("deal-1", mspecs_deal("deal-1", []))

    assert "HTTP 400" in read_error(client_for(agency.credential), "deal-1")


def test_an_mspecs_bearer_access_token_reads_the_deal(make_agency, sandbox):
    sandbox.set_access_token("token-abc", "sandbox-subscriber")
    sandbox.set_mspecs_deal("deal-1", mspecs_deal("deal-1", [mspecs_ordinary_viewing("v", SUMMER)]))
    agency = make_agency(
        Provider.MSPECS, auth_scheme=AuthScheme.BEARER, username="", secret="token-abc"
    )

    [viewing] = client_for(agency.credential).fetch_viewings("deal-1")

    assert viewing.viewing_id == "v"


@pytest.mark.parametrize(
    ("token", "subscriber", "status"),
    [("not-a-token", "sandbox-subscriber", 401), ("token-abc", "another-subscriber", 403)],
)
def test_the_sandbox_refuses_a_wrong_token_or_a_subscriber_it_was_not_made_for(
    sandbox, token, subscriber, status
):
    sandbox.set_access_token("token-abc", "sandbox-subscriber")
    sandbox.set_access_token("token-xyz", "another-subscriber")
    sandbox.set_mspecs_deal("deal-1", mspecs_deal("deal-1", []))

    answer = requests.get(
        f"{sandbox.mspecs_url}/api/marketing/deals/deal-1",
        headers={"Authorization": f"Bearer {token}", "subscriber-id": subscriber},
        timeout=5,
    )

    assert answer.status_code == status


def test_vitec_accepts_no_bearer_token(sandbox):
    sandbox.set_access_token("token-abc", "sandbox-subscriber")

    answer = requests.get(
        f"{sandbox.vitec_url}/Viewing/sandbox-customer/estate-1",
        headers={"Authorization": "Bearer token-abc"},
        timeout=5,
    )

    assert answer.status_code == 401


NOT_KNOWN = {
    Provider.MSPECS: "nope-1 is not published in the broker system (HTTP 404): it was "
    "unpublished, or the id is not known there.",
    Provider.VITEC: "nope-1 is not known to the broker system (HTTP 404). Check the id and "
    "try again.",
}


@pytest.mark.parametrize("system", NOT_KNOWN)
def test_an_unknown_deal_or_estate_says_it_is_not_known(make_agency, system):
    agency = make_agency(system)

    assert read_error(client_for(agency.credential), "nope-1") == NOT_KNOWN[system]


@pytest.mark.parametrize("system", [Provider.MSPECS, Provider.VITEC])
def test_a_refused_credential_says_so(make_agency, system):
    agency = make_agency(system, secret="wrong")

    assert "refused the agency's credential (HTTP 401)" in read_error(
        client_for(agency.credential), "deal-1"
    )


def deal_of(*viewings):
    return mspecs_deal("deal-1", list(viewings))


# Each wrong answer, and where the message for staff says it is wrong.
WRONG_MSPECS_SHAPES = {
    "not an object": (["a list"], "the answer: ['a list'] is not of type 'object'"),
    "no publishingInformation": ({"id": "deal-1"}, "'publishingInformation' is a required"),
    "viewings not a list": ({**deal_of(), "viewings": {}}, "viewings: {} is not of type 'array'"),
    "viewing without a start": (
        deal_of({"id": "v", "type": "ENUMS_VIEWINGS_TYPE_DATE_AND_TIME"}),
        "viewings[0]: 'startDate' is a required property",
    ),
    "an unknown viewing type": (
        deal_of({**mspecs_ordinary_viewing("v", SUMMER), "type": "ENUMS_VIEWINGS_TYPE_OPEN"}),
        "viewings[0].type: 'ENUMS_VIEWINGS_TYPE_OPEN' is not one of",
    ),
    "a time that is not a time": (
        deal_of(mspecs_ordinary_viewing("v", SUMMER, startDate="tomorrow at five")),
        "viewings[0].startDate: 'tomorrow at five' does not match",
    ),
    "a date that is not a date": (
        deal_of({**mspecs_date_only_viewing("v", SUMMER.date()), "startDate": "2031-02-30"}),
        "viewings[0].startDate: '2031-02-30' is not a 'date'",
    ),
    "an id with a slash": (
        deal_of(mspecs_ordinary_viewing("../v", SUMMER)),
        "an id that is not a broker id",
    ),
    "an id with a NUL": (
        deal_of(mspecs_ordinary_viewing("v\x00", SUMMER)),
        "an id that is not a broker id",
    ),
    "a very long id": (deal_of(mspecs_ordinary_viewing("v" * 201, SUMMER)), "too long"),
    "freeSpots not a number": (
        deal_of(mspecs_slot_viewing("v", SUMMER, ["s"], free_spots="many")),
        "viewings[0].slots[0].freeSpots: 'many' is not of type 'integer'",
    ),
    "slots not a list": (
        deal_of({**mspecs_slot_viewing("v", SUMMER, []), "slots": 5}),
        "viewings[0].slots: 5 is not of type 'array'",
    ),
    "a negative slot length": (
        deal_of(mspecs_slot_viewing("v", SUMMER, ["s"], slotLength=-20)),
        "viewings[0].slotLength: -20 is less than the minimum",
    ),
    "an unknown sale status": (
        {**deal_of(), "publishingInformation": {"saleStatus": "ENUMS_SALE_STATUS_GONE"}},
        "publishingInformation.saleStatus: 'ENUMS_SALE_STATUS_GONE' is not one of",
    ),
    "ends before it starts": (
        deal_of(mspecs_ordinary_viewing("v", SUMMER, endDate="2031-06-10T16:00:00+02:00")),
        "a viewing ends before it starts",
    ),
}


@pytest.mark.parametrize(
    ("document", "where"), WRONG_MSPECS_SHAPES.values(), ids=WRONG_MSPECS_SHAPES
)
def test_an_mspecs_answer_of_the_wrong_shape_names_what_is_wrong(
    make_agency, sandbox, document, where
):
    agency = make_agency(Provider.MSPECS)
    sandbox.set_fault(status=200, body=document, count=1)  # the sandbox itself never answers so

    message = read_error(client_for(agency.credential), "deal-1")

    assert message.startswith("The broker system's answer for deal-1 has an unexpected shape (")
    assert where in message


def test_a_busy_provider_says_when_to_ask_again(make_agency, sandbox):
    agency = make_agency(Provider.MSPECS)
    sandbox.set_fault(status=429, retry_after=7, count=1)

    with pytest.raises(SourceReadError) as error:
        client_for(agency.credential).fetch_viewings("deal-1")

    assert error.value.retry_after == 7


def test_the_sandbox_control_api_takes_deals_estates_and_tokens_over_http(sandbox):
    def control(command, body):
        return requests.post(f"{sandbox.url}/_sandbox/{command}", json=body, timeout=5)

    control("mspecs-deals/deal-9", mspecs_deal("deal-9", []))
    control("vitec-estates/e-9", {"viewings": [], "street_address": "Ågatan 1"})
    control("access-tokens", {"token": "t-9", "subscriber_id": "sub-9"})

    deal = requests.get(
        f"{sandbox.mspecs_url}/api/marketing/deals/deal-9",
        headers={"Authorization": "Bearer t-9", "subscriber-id": "sub-9"},
        timeout=5,
    )
    estates = requests.get(
        f"{sandbox.vitec_url}/Advertising/Estate/sandbox-customer",
        auth=("sandbox", "sandbox-secret"),
        timeout=5,
    )
    assert deal.status_code == 200 and deal.json()["id"] == "deal-9"
    assert [row["id"] for row in estates.json()["rows"]] == ["e-9"]
