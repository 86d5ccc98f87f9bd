"""Vitec Connect's contract (bookings/providers/vitec/contract/, docs/vitec.md) holds every
side: Vitec's own examples match the schemas and our readers parse them; what our client
sends matches the schemas; the sandbox answers in the schemas' shapes on every route, over
real HTTP."""

import zoneinfo
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from agencies.models import Provider
from bookings.delivery.sending import deliver
from bookings.providers import client_for, plugin_for
from bookings.providers.base import CallRecord
from bookings.providers.vitec.client import VitecClient, read_estate
from tests.factories import make_booking, vitec_viewing

CONTRACT = plugin_for(Provider.VITEC).contract
STOCKHOLM = zoneinfo.ZoneInfo("Europe/Stockholm")
START = datetime(2031, 6, 10, 17, 0, tzinfo=STOCKHOLM)
# An estate id in the form Vitec's notification examples show ("sample string 1", the help
# pages' placeholder, is no id our rule for path segments lets through).
ESTATE_ID = "OBJ11385_1395932274"


def vitec_get(sandbox, path, **params):
    return requests.get(
        f"{sandbox.vitec_url}/{path}", params=params, auth=("sandbox", "sandbox-secret"), timeout=5
    )


def assert_matches(schema, answer):
    assert CONTRACT.violations(schema, answer) == [], schema


def test_the_estate_reader_reads_vitecs_example():
    estate = read_estate(CONTRACT.example("estate"), ESTATE_ID)

    assert estate.title == "sample string 1, sample string 2"
    assert estate.address == "sample string 1, sample string 1 sample string 2"


@pytest.mark.django_db
def test_the_estate_list_reader_reads_vitecs_example(make_agency, sandbox):
    example = CONTRACT.example("estate-list")
    example["rows"] = [{**row, "id": f"{ESTATE_ID}{n}"} for n, row in enumerate(example["rows"])]
    sandbox.set_fault(status=200, body=example, count=1)

    changed = client_for(make_agency(Provider.VITEC).credential).changed_sources(None)

    assert changed.source_ids == {f"{ESTATE_ID}0", f"{ESTATE_ID}1"}
    assert changed.up_to == datetime(2026, 10, 4, 6, 1, 56, 134754, tzinfo=STOCKHOLM)


@pytest.mark.django_db
def test_the_participant_answer_reader_keeps_vitecs_example_as_the_reference(make_agency):
    client = client_for(make_agency(Provider.VITEC).credential)
    record = CallRecord("POST", "/", status=200, body=CONTRACT.example("participant-answer"))

    assert client.reference(record) == "sample string 1"


PARTICIPANTS = {
    # A buyer's booking with every optional part: consent time (gdprApprovalDate), message
    # (contactMessage) and the agency's lead source (leadSourceId).
    "consent, message and lead source": (
        {"vitec_lead_source_id": "lead-7"},
        {"message": "Kan vi komma 17.10?", "consent_given_at": START - timedelta(days=30)},
        True,
    ),
    # A booking staff entered, without a message, for an agency without a lead source.
    "none of them": ({}, {}, False),
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("agency_fields", "booking_fields", "full"), PARTICIPANTS.values(), ids=PARTICIPANTS
)
def test_the_participant_our_client_sends_matches_the_contract(
    make_agency, sandbox, agency_fields, booking_fields, full
):
    booking = make_booking(make_agency(Provider.VITEC, **agency_fields), **booking_fields)

    _, body = client_for(booking.agency.credential).delivery_request(booking)
    assert deliver(booking.pk) == "delivered"

    [received] = sandbox.received("vitec")
    assert_matches("participant", body)
    assert_matches("participant", received["body"])
    assert ("gdprApprovalDate" in body["updatePerson"], "leadSourceId" in body) == (full, full)
    assert bool(body["contactMessage"]) is full


@pytest.mark.parametrize("since", [None, START])
def test_the_estate_list_query_our_client_sends_matches_the_contract(since):
    query = VitecClient.estate_list_query(3, since)

    assert_matches("estate-list-query", query)


@pytest.mark.django_db
def test_the_estate_list_query_is_sent_as_the_contract_describes_it(make_agency):
    client = client_for(make_agency(Provider.VITEC).credential)

    sent = dict(parse_qsl(urlsplit(client.estates_endpoint(2, START)).query))

    assert sent == {
        name: str(value) for name, value in VitecClient.estate_list_query(2, START).items()
    }


def test_the_sandbox_lists_viewings_with_their_participants_in_the_contracts_shape(sandbox):
    viewings = [
        vitec_viewing("vv-1", START, ["t-1", "t-2"], participants={"t-1": 2}),
        vitec_viewing("vv-2", START + timedelta(days=1), [], noLaterThen=None, timeSlots=None),
    ]
    sandbox.set_vitec_estate("e-1", viewings)

    answer = vitec_get(sandbox, "Viewing/sandbox-customer/e-1")

    assert answer.status_code == 200
    assert_matches("viewings", answer.json())


def test_the_sandbox_pages_the_estate_list_in_the_contracts_shape(sandbox):
    for n in range(3):
        sandbox.set_vitec_estate(f"e-{n}", [])

    pages = [
        vitec_get(sandbox, "Advertising/Estate/sandbox-customer", PageSize=2, PageIndex=index)
        for index in (0, 1)
    ]
    since = vitec_get(
        sandbox,
        "Advertising/Estate/sandbox-customer",
        PageSize=2,
        PageIndex=0,
        ChangedAtMinValue=pages[1].json()["rows"][0]["changedAt"],
    )

    for page in (*pages, since):
        assert page.status_code == 200
        assert_matches("estate-list", page.json())
    assert [[row["id"] for row in page.json()["rows"]] for page in pages] == [
        ["e-0", "e-1"],
        ["e-2"],
    ]
    assert (pages[0].json()["count"], pages[0].json()["totalRowCount"]) == (2, 3)
    assert [row["id"] for row in since.json()["rows"]] == ["e-2"]


def test_the_sandbox_describes_an_estate_in_the_contracts_shape(sandbox):
    sandbox.set_vitec_estate(
        "e-1", [], street_address="Ågatan 3", zip_code="903 26", postal_town="Umeå"
    )

    answer = vitec_get(sandbox, "Advertising/Estate/sandbox-customer/e-1")

    assert answer.status_code == 200
    assert_matches("estate", answer.json())


@pytest.mark.django_db
def test_the_sandbox_answers_a_participant_in_the_contracts_shape(make_agency, sandbox):
    booking = make_booking(make_agency(Provider.VITEC))

    deliver(booking.pk)

    [attempt] = booking.attempts.all()
    assert attempt.http_status == 200
    assert_matches("participant-answer", sandbox.received("vitec")[0]["id"])


@pytest.mark.parametrize(
    "path, params, status",
    [
        ("Viewing/sandbox-customer/unknown", {}, 404),
        ("Viewing/someone-else/e-1", {}, 403),
        ("Advertising/Estate/sandbox-customer/unknown", {}, 404),
        ("Advertising/Estate/someone-else", {}, 403),
        ("Advertising/Estate/sandbox-customer", {"PageSize": 0}, 400),
        ("Advertising/Estate/sandbox-customer", {"PageIndex": "first"}, 400),
    ],
)
def test_the_sandboxs_error_answers_have_the_assumed_shape(sandbox, path, params, status):
    answer = vitec_get(sandbox, path, **params)

    assert answer.status_code == status
    assert_matches("error", answer.json())


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields", [{"first_name": ""}, {"email": "anna@" + "x" * 100 + ".se"}], ids=["name", "length"]
)
def test_the_sandboxs_validation_errors_have_the_assumed_shape(make_agency, sandbox, fields):
    booking = make_booking(make_agency(Provider.VITEC), **fields)
    client = client_for(booking.viewing.agency.credential)
    endpoint, body = client.delivery_request(booking)

    record = client.call("POST", endpoint, json=body)

    assert record.status == 400
    assert_matches("error", record.body)


@pytest.mark.django_db
def test_the_sandboxs_answer_for_a_removed_viewing_has_the_assumed_shape(make_agency, sandbox):
    booking = make_booking(make_agency(Provider.VITEC), viewing_id="vv-gone")
    sandbox.remove_viewing("vv-gone")
    client = client_for(booking.viewing.agency.credential)
    endpoint, body = client.delivery_request(booking)

    record = client.call("POST", endpoint, json=body)

    assert record.status == 404
    assert_matches("error", record.body)


@pytest.mark.django_db
def test_the_sandboxs_full_slot_answer_has_the_assumed_shape(make_agency, sandbox):
    sandbox.set_vitec_capacity("t-full", 0)
    booking = make_booking(make_agency(Provider.VITEC), slot_id="t-full")
    client = client_for(booking.viewing.agency.credential)
    endpoint, body = client.delivery_request(booking)

    record = client.call("POST", endpoint, json=body)

    assert record.status == 400 and "BookingLimit" in record.body["ModelState"]
    assert_matches("error", record.body)
