"""Import and sync of an MSPECS deal through the MSPX API, for a credential that speaks the
External viewing API (docs/mspecs.md, "Two APIs"), over real HTTP: discovery first, rows
paged within MSPX's 1,000-row limit, every datetime UTC; our queries and the sandbox's
answers held to the contract (bookings/providers/mspecs/contract/mspx_*.schema.json)."""

import zoneinfo
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest
import requests
from django.utils import timezone

from agencies.models import MspecsApi, Provider
from agencies.problems import problem_text
from bookings.models import Viewing, ViewingChange
from bookings.providers import client_for, plugin_for
from bookings.providers.base import CallRecord, SourceReadError
from bookings.providers.mspecs.mspx import ROW_LIMIT, parse_utc, results_limit
from bookings.viewing_import.service import import_source
from bookings.viewing_import.sync import sources_of, sync_sources, syncable_viewings
from tests.factories import mspx_slot_rows, mspx_viewing_row, put_mspx_deal

CONTRACT = plugin_for(Provider.MSPECS).contract
START = datetime(2031, 6, 10, 15, 0, tzinfo=UTC)
STOCKHOLM = zoneinfo.ZoneInfo("Europe/Stockholm")

pytestmark = pytest.mark.django_db


@pytest.fixture
def agency(make_agency):
    return make_agency(Provider.MSPECS, mspecs_api=MspecsApi.EXTERNAL_VIEWING)


@pytest.fixture
def deal(sandbox):
    """Deal "deal-1": time-slot viewing "v" (slots s-1, s-2), a viewing with a date and time
    "o", and a date-only one, booked by its date."""
    put_mspx_deal(
        sandbox,
        "deal-1",
        [
            mspx_viewing_row("v", "deal-1", START),
            mspx_viewing_row(
                "o",
                "deal-1",
                START + timedelta(days=1),
                type="ENUMS_VIEWINGS_TYPE_DATE_AND_TIME",
                endDate="2031-06-11T16:30:00.000Z",
                externalBookingLatestHourBefore=2,
            ),
            mspx_viewing_row("d", "deal-1", START, type="ENUMS_VIEWINGS_TYPE_DATE_ONLY"),
        ],
        mspx_slot_rows("v", START, ["s-1", "s-2"]),
    )


def list_queries(sandbox):
    """Every MSPX list read's query, one value per parameter."""
    return [
        {name: values[0] for name, values in entry["query"].items()}
        for entry in sandbox.mspx_queries()
    ]


def assert_queries_as_documented(sandbox):
    queries = [entry["query"] for entry in sandbox.mspx_queries()]
    assert queries
    for query in queries:
        assert all(len(values) == 1 for values in query.values())
        CONTRACT.check("mspx_list_query", {name: values[0] for name, values in query.items()})


def test_a_deal_is_imported_through_mspx_with_its_viewings_and_slots(agency, deal, sandbox):
    result = import_source(agency, "deal-1")

    assert result.problem is None
    slot_viewing = Viewing.objects.get(provider_viewing_id="v")
    assert slot_viewing.viewing_type == Viewing.Type.TIME_SLOTS
    assert slot_viewing.mspecs_deal_id == "deal-1"
    assert slot_viewing.title == "Storgatan 1"
    assert slot_viewing.address == "Storgatan 1, 753 20 Uppsala"
    assert [(s.provider_slot_id, s.starts_at, s.capacity) for s in slot_viewing.slots.all()] == [
        ("s-1", START, 5),
        ("s-2", START + timedelta(minutes=20), 5),
    ]
    ordinary = Viewing.objects.get(provider_viewing_id="o")
    assert ordinary.viewing_type == Viewing.Type.ORDINARY
    assert (ordinary.starts_at, ordinary.ends_at) == (
        START + timedelta(days=1),
        START + timedelta(days=1, hours=1, minutes=30),
    )
    assert ordinary.booking_closes_at == START + timedelta(days=1) - timedelta(hours=2)
    by_date = Viewing.objects.get(provider_viewing_id="d")
    assert by_date.date_only
    assert timezone.localtime(by_date.starts_at).date() == START.astimezone(STOCKHOLM).date()
    assert_queries_as_documented(sandbox)


def test_the_reads_query_the_deals_viewings_and_each_time_slot_viewings_slots(
    agency, deal, sandbox
):
    import_source(agency, "deal-1")

    assert [
        (entry["table"], query.get("q"))
        for entry, query in zip(sandbox.mspx_queries(), list_queries(sandbox), strict=True)
    ] == [("viewings", "dealId='deal-1'"), ("viewingSlots", "viewingId='v'")]
    assert {query["limit"] for query in list_queries(sandbox)} == {str(ROW_LIMIT)}
    assert sandbox.requests_to("/mspecs/deals/deal-1") == 1


def test_discovery_is_asked_once_per_client(agency, deal, sandbox):
    import_source(agency, "deal-1")
    import_source(agency, "deal-1")

    assert sandbox.requests_to("/mspecs/schema/viewings") == 1
    assert sandbox.requests_to("/mspecs/schema/viewingSlots") == 1


def test_a_sync_through_mspx_applies_a_moved_and_a_removed_slot(agency, deal, sandbox):
    import_source(agency, "deal-1")
    sandbox.remove_mspx_row("viewingSlots", "s-2")
    sandbox.set_mspx_row(
        "viewingSlots", {"id": "s-1", "viewingId": "v", "startTime": "2031-06-10T15:40:00.000Z"}
    )

    sync_sources(sources_of(syncable_viewings()))

    kinds = set(ViewingChange.objects.values_list("slot__provider_slot_id", "kind"))
    assert ("s-1", ViewingChange.Kind.MOVED) in kinds
    assert ("s-2", ViewingChange.Kind.SLOT_REMOVED) in kinds
    moved = Viewing.objects.get(provider_viewing_id="v").slots.get(provider_slot_id="s-1")
    assert moved.starts_at == START + timedelta(minutes=40)
    assert_queries_as_documented(sandbox)


def test_rows_are_read_page_by_page_as_the_server_limits_them(agency, sandbox):
    slot_ids = [f"s-{n}" for n in range(5)]
    put_mspx_deal(
        sandbox,
        "deal-1",
        [mspx_viewing_row("v", "deal-1", START)],
        mspx_slot_rows("v", START, slot_ids),
    )
    sandbox.set_mspx_row_limit(2)  # MSPX may enforce limits below 1000 (get_api.txt)

    result = import_source(agency, "deal-1")

    assert result.problem is None
    slots = Viewing.objects.get(provider_viewing_id="v").slots.order_by("starts_at")
    assert [slot.provider_slot_id for slot in slots] == slot_ids
    slot_reads = [q for q in list_queries(sandbox) if q.get("q") == "viewingId='v'"]
    assert [query["offset"] for query in slot_reads] == ["0", "2", "4"]
    assert_queries_as_documented(sandbox)


def test_more_rows_than_the_1000_row_limit_are_read_in_two_pages(agency, sandbox):
    slot_ids = [f"s-{n:04}" for n in range(ROW_LIMIT + 1)]
    put_mspx_deal(
        sandbox,
        "deal-1",
        [mspx_viewing_row("v", "deal-1", START, slot_length=1)],
        mspx_slot_rows("v", START, slot_ids, slot_length=1),
    )

    [viewing] = client_for(agency.credential).fetch_viewings("deal-1")

    assert [slot.slot_id for slot in viewing.slots] == slot_ids
    slot_reads = [q for q in list_queries(sandbox) if q.get("q") == "viewingId='v'"]
    assert [(q["limit"], q["offset"]) for q in slot_reads] == [("1000", "0"), ("1000", "1000")]


def test_a_table_without_a_field_we_read_is_refused_naming_it(agency, deal, sandbox):
    sandbox.set_mspx_description(
        "viewings",
        {
            "name": "viewings",
            "publicFields": [
                {"name": name, "type": "text"} for name in ("id", "dealId", "type", "startTime")
            ],
        },
    )

    result = import_source(agency, "deal-1")

    assert "viewings table has no field startDate" in problem_text(result.problem)
    assert not Viewing.objects.exists()
    assert sandbox.mspx_queries() == []  # no row was read


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("startDate", "tomorrow", "viewings[0].startDate"),
        ("type", "ENUMS_VIEWINGS_TYPE_SOMETHING_NEW", "viewings[0].type"),
        ("allowExternalBooking", "yes", "viewings[0].allowExternalBooking"),
        ("id", "x" * 81, "viewings[0].id"),
    ],
)
def test_a_row_of_another_shape_imports_nothing_and_names_the_field(
    agency, sandbox, field, value, named
):
    put_mspx_deal(sandbox, "deal-1", [mspx_viewing_row("v", "deal-1", START, **{field: value})])

    result = import_source(agency, "deal-1")

    assert named in problem_text(result.problem)
    assert not Viewing.objects.exists()


def test_an_unknown_deal_is_not_found(agency, sandbox):
    result = import_source(agency, "deal-404")

    assert "deal-404 is not known to the broker system (HTTP 404)" in problem_text(result.problem)


def test_a_deal_id_with_a_quote_is_refused_before_anything_is_read(agency, sandbox):
    result = import_source(agency, "deal'1")

    assert "quote" in problem_text(result.problem)
    assert sandbox.requests_served == 0


def test_the_deals_with_viewings_to_come_are_offered_to_import(agency, sandbox):
    soon, later, past = START, START + timedelta(days=3), datetime(2020, 1, 1, tzinfo=UTC)
    put_mspx_deal(sandbox, "deal-a", [mspx_viewing_row("a1", "deal-a", later)])
    put_mspx_deal(
        sandbox,
        "deal-b",
        [mspx_viewing_row("b1", "deal-b", soon), mspx_viewing_row("b2", "deal-b", later)],
    )
    put_mspx_deal(sandbox, "deal-old", [mspx_viewing_row("x1", "deal-old", past)])
    put_mspx_deal(
        sandbox,
        "deal-c",
        [mspx_viewing_row("c1", "deal-c", soon, type="ENUMS_VIEWINGS_TYPE_COMMENT_ONLY")],
    )

    listing = client_for(agency.credential).list_sources()

    assert [source.source_id for source in listing] == ["deal-b", "deal-a"]
    assert listing[0].title.startswith("Deal deal-b: 2 viewings, from ")
    [query] = list_queries(sandbox)
    assert (query["sort"], query["fields"]) == ("-startDate", "id,dealId,type,startDate")
    assert_queries_as_documented(sandbox)


def test_an_mspx_answer_that_is_not_a_list_is_refused(agency, sandbox):
    put_mspx_deal(sandbox, "deal-1")
    client = client_for(agency.credential)
    client.list_sources()  # discovery asked and remembered
    sandbox.set_fault(status=200, body={"message": "Access restricted."}, count=1)

    with pytest.raises(SourceReadError) as refused:
        client.list_sources()

    assert "viewings: {'message': 'Access restricted.'} is not of type 'array'" in str(
        refused.value
    )


# --- the contract itself --------------------------------------------------------------


def sandbox_get(sandbox, path):
    return requests.get(
        f"{sandbox.mspecs_url}{path}", auth=("sandbox", "sandbox-secret"), timeout=5
    )


def test_every_mspx_route_of_the_sandbox_answers_in_the_contracts_shape(sandbox, deal):
    answers = {
        "/schema": "mspx_table_names",
        "/schema/deals": "mspx_table_schema",
        "/schema/viewings": "mspx_table_schema",
        "/schema/viewingSlots": "mspx_table_schema",
        "/deals/deal-1": "mspx_deal",
        "/viewings?limit=1000&offset=0&q=dealId%3D%27deal-1%27": "mspx_viewings",
        "/viewings?limit=1&offset=0&sort=-startDate&fields=id,dealId,type,startDate": (
            "mspx_viewings"
        ),
        "/viewingSlots?limit=1000&offset=0&q=viewingId%3D%27v%27": "mspx_viewing_slots",
        "/deals/deal-404": "mspx_message",
        "/schema/nothing": "mspx_message",
        "/viewings?limit=1000&offset=0&q=dealId+LIKE+x": "mspx_message",
    }
    for path, contract_name in answers.items():
        response = sandbox_get(sandbox, path)

        CONTRACT.check(contract_name, response.json())
        if "?" in path and response.ok:
            limit = int(parse_qs(path.partition("?")[2])["limit"][0])
            assert response.headers["X-Results-Limit"] == str(min(limit, ROW_LIMIT)), path


def test_the_sandbox_holds_a_list_to_its_row_limit(sandbox):
    put_mspx_deal(sandbox, "deal-1", [], mspx_slot_rows("v", START, ["a", "b", "c"]))
    sandbox.set_mspx_row_limit(2)

    response = sandbox_get(sandbox, "/viewingSlots?limit=1000&offset=0")

    assert [row["id"] for row in response.json()] == ["a", "b"]
    assert response.headers["X-Results-Limit"] == "2"


def test_mspx_times_are_read_as_the_discovery_document_writes_them():
    # discovery_api.txt: "ISO 8601 (2017-06-25T11:00:00.000Z)", all in UTC.
    assert parse_utc("2017-06-25T11:00:00.000Z") == datetime(2017, 6, 25, 11, tzinfo=UTC)
    assert parse_utc("2017-06-25T11:00:00") == datetime(2017, 6, 25, 11, tzinfo=UTC)
    CONTRACT.check("mspx_types", {})
    assert not CONTRACT.violations(
        "mspx_viewing_slots",
        [{"id": "s", "viewingId": "v", "startTime": "2017-06-25T11:00:00.000Z"}],
    )


@pytest.mark.parametrize("header", ["many", "0", "-1", ""])
def test_a_results_limit_header_that_is_no_row_count_is_refused(header):
    record = CallRecord("GET", "/viewings", headers={"X-Results-Limit": header})

    with pytest.raises(ValueError, match="X-Results-Limit"):
        results_limit(record)
