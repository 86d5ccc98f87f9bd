"""MSPECS's published-deals list (`GET /api/marketing/deals`, docs/mspecs.md "Published
deals") over real HTTP: what the import page offers and the nightly catch-up reads. The
request carries only what MSPECS documents, the sandbox answers in MSPECS's shape, and the
reader takes MSPECS's own example."""

import pytest
import requests

from agencies.models import Provider
from bookings.providers import client_for
from bookings.providers.base import SourceListing, SourceReadError
from bookings.providers.mspecs.client import published_deal_title
from bookings.providers.mspecs.schemas import CONTRACT
from tests.factories import mspecs_deal

pytestmark = pytest.mark.django_db
LIST_PATH = "/mspecs/api/marketing/deals"


@pytest.fixture
def agency(make_agency):
    return make_agency(Provider.MSPECS)


def publish_vendor_example(sandbox):
    """The deals of MSPECS's example list, as the sandbox's deals."""
    for deal in CONTRACT.example("published_deals"):
        sandbox.set_mspecs_deal(deal["id"], deal)


def test_mspecs_example_list_matches_the_contract():
    assert CONTRACT.violations("published_deals", CONTRACT.example("published_deals")) == []


def test_mspecs_example_list_reads_as_deals_titled_with_their_addresses(agency, sandbox):
    publish_vendor_example(sandbox)

    listings = client_for(agency.credential).list_sources()

    assert listings == [
        SourceListing("MDAtMXwwMDAwMDAwMDAwMXwwMQ..", "Råsundavägen 4, 169 67 Solna (DF4 HG9)"),
        SourceListing("MDAtMXwwMDAwMDAwMDAwMXwwMA..", "MDAtMXwwMDAwMDAwMDAwMXwwMA.."),
    ]


def test_the_list_is_one_request_carrying_only_what_mspecs_documents(agency, sandbox):
    publish_vendor_example(sandbox)

    client_for(agency.credential).list_sources()

    [request] = sandbox.published_deals_requests()
    assert CONTRACT.violations("published_deals_request", request) == []
    assert request == {"query": {}, "headers": {"subscriber-id": "sandbox-subscriber"}}
    assert sandbox.requests_to(LIST_PATH) == 1


@pytest.mark.parametrize("example", [True, False], ids=["mspecs-example", "our-deals"])
def test_the_sandbox_answers_the_list_in_mspecs_shape(sandbox, example):
    if example:
        publish_vendor_example(sandbox)
    else:
        sandbox.set_mspecs_deal("deal-1", mspecs_deal("deal-1", []))

    response = requests.get(
        sandbox.mspecs_url + "/api/marketing/deals",
        auth=("sandbox", "sandbox-secret"),
        headers={"subscriber-id": "sandbox-subscriber"},
        timeout=5,
    )

    assert response.status_code == 200
    assert CONTRACT.violations("published_deals", response.json()) == []


def test_the_sandbox_refuses_a_list_request_mspecs_does_not_document(sandbox):
    response = requests.get(
        sandbox.mspecs_url + "/api/marketing/deals?page=2",
        auth=("sandbox", "sandbox-secret"),
        headers={"subscriber-id": "sandbox-subscriber"},
        timeout=5,
    )

    assert response.status_code == 400
    assert CONTRACT.violations("bad_request_error", response.json()) == []
    assert "query" in response.json()["message"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"shortId": "DF4 HG9 TOO LONG"}, "[0].shortId"),
        ({"publishingInformation": {"status": "PUBLISHED"}}, "[0].publishingInformation"),
        ({"objectType": "OBJECT_TYPE_HOUSE"}, "[0].objectType"),
        ({"location": {"city": "S" * 101}}, "[0].location.city"),
    ],
    ids=["short-id-too-long", "status-not-mspecs", "type-not-translated", "city-too-long"],
)
def test_a_list_of_another_shape_is_refused_naming_the_field(agency, sandbox, change, field):
    # The sandbox keeps its deals to the contract, so the broken list comes as a fault.
    sandbox.set_mspecs_deal("deal-1", mspecs_deal("deal-1", []))
    [listed] = sandbox.mspecs_published_deals(
        {"query": {}, "headers": {"subscriber-id": "sandbox-subscriber"}}
    )
    sandbox.set_fault(status=200, count=1, body=[{**listed, **change}])

    with pytest.raises(SourceReadError) as error:
        client_for(agency.credential).list_sources()

    assert field in str(error.value.problem)
    assert "api/marketing/deals" in str(error.value.problem)


def test_a_refused_credential_reads_no_list(make_agency, sandbox):
    agency = make_agency(Provider.MSPECS, secret="wrong")

    with pytest.raises(SourceReadError) as error:
        client_for(agency.credential).list_sources()

    assert error.value.problem.code == "source_refused"


@pytest.mark.parametrize(
    ("deal", "title"),
    [
        (
            {"displayName": "Villa Haga", "location": {"streetAddress": "Råsundavägen 4"}},
            "Villa Haga – Råsundavägen 4",
        ),
        (
            {"displayName": "Råsundavägen 4", "location": {"streetAddress": "Råsundavägen 4"}},
            "Råsundavägen 4",
        ),
        ({"location": {"postalCode": "169 67", "city": "Solna"}}, "169 67 Solna"),
        ({"shortId": "DF4 HG9"}, "DF4 HG9"),
        ({"location": {}}, "deal-1"),
    ],
    ids=["named", "name-is-the-street", "no-street", "short-id-only", "nothing"],
)
def test_a_deal_is_titled_by_what_the_list_says_of_it(deal, title):
    assert published_deal_title({"id": "deal-1", **deal}) == title
