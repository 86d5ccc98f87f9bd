"""Vitec's estates read as Vitec publishes them (docs/vitec.md), over real HTTP: the estate
list paged, titles and addresses from the estate, places counting Vitec's participants once,
a scheduled sync reading only the estates changed since its last pass, and an answer of
another shape naming the field and importing nothing."""

import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.db import connection

from agencies.models import Provider
from agencies.problems import problem_text
from bookings.delivery.sending import deliver
from bookings.models import ChangedSourcesMark, Viewing, ViewingSlot
from bookings.providers import client_for, plugin_for
from bookings.providers.base import SourceReadError
from bookings.viewing_import.service import import_source
from bookings.viewing_import.sync import sources_of, sync_changed, syncable_viewings
from tests.factories import make_booking, vitec_viewing

STOCKHOLM = zoneinfo.ZoneInfo("Europe/Stockholm")
START = datetime(2031, 6, 10, 17, 0, tzinfo=STOCKHOLM)
ESTATE_LIST = "/vitec/Advertising/Estate/sandbox-customer"

pytestmark = pytest.mark.django_db


@pytest.fixture
def agency(make_agency):
    return make_agency(Provider.VITEC)


@pytest.fixture(autouse=True)
def participants_sent_match_the_contract(sandbox):
    """What our client posted to Vitec in the test, held to the contract."""
    yield
    contract = plugin_for(Provider.VITEC).contract
    for received in sandbox.received("vitec"):
        assert contract.violations("participant", received["body"]) == []


def scheduled_sync():
    return sync_changed(sources_of(syncable_viewings()))


def reads_of(sandbox, estate_id) -> int:
    return sandbox.requests_to(f"/vitec/Viewing/sandbox-customer/{estate_id}")


def imported(agency, sandbox, estate_id, viewings, **estate):
    sandbox.set_vitec_estate(estate_id, viewings, **estate)
    result = import_source(agency, estate_id)
    assert result.problem is None, problem_text(result.problem)
    return result.viewings


def test_an_estate_reads_as_viewings_with_slots_deadline_capacity_and_participants(agency, sandbox):
    deadline = START - timedelta(hours=5)
    sandbox.set_vitec_estate(
        "estate-1",
        [
            vitec_viewing(
                "vv-1",
                START,
                ["t-1", "t-2"],
                participants={"t-1": 2},
                noLaterThen=deadline.isoformat(),
            ),
            vitec_viewing("vv-2", START + timedelta(days=1), [], bookableFromInternet=False),
        ],
    )

    timed, untimed = client_for(agency.credential).fetch_viewings("estate-1")

    assert timed.booking_closes_at == deadline and timed.bookable_from_internet is True
    assert [(s.slot_id, s.starts_at, s.capacity, s.number_booked) for s in timed.slots] == [
        ("t-1", START, 3, 2),
        ("t-2", START + timedelta(minutes=30), 3, 0),
    ]
    # Without time slots: one slot under the viewing's own id, its participants unknown.
    [slot] = untimed.slots
    assert (slot.slot_id, slot.number_booked) == ("vv-2", None)
    assert untimed.bookable_from_internet is False


def test_the_estate_list_is_read_page_by_page_with_each_estates_title(agency, sandbox):
    for n in range(250):
        sandbox.set_vitec_estate(f"e-{n}", [], street_address=f"Gatan {n}", postal_town="Umeå")

    estates = client_for(agency.credential).list_sources()

    assert len(estates) == 250
    assert (estates[7].source_id, estates[7].title) == ("e-7", "Gatan 7, Umeå")
    assert sandbox.requests_to(ESTATE_LIST) == 3
    assert sandbox.requests_to(f"{ESTATE_LIST}/e-7") == 1


def test_the_estate_list_leaves_out_estates_vitec_does_not_publish(agency, sandbox):
    sandbox.set_vitec_estate("e-1", [])
    sandbox.set_vitec_estate("e-2", [], published=False)

    estates = client_for(agency.credential).list_sources()

    assert [estate.source_id for estate in estates] == ["e-1"]


def test_imported_viewings_are_titled_and_addressed_from_the_estate(agency, sandbox):
    [viewing] = imported(
        agency,
        sandbox,
        "EST-9001",
        [vitec_viewing("vv-1", START, ["t-1"])],
        street_address="Ågatan 3",
        zip_code="903 26",
        postal_town="Umeå",
    )

    assert (viewing.title, viewing.address) == ("Ågatan 3, Umeå", "Ågatan 3, 903 26 Umeå")


def test_an_estate_with_its_address_hidden_is_titled_by_its_sales_heading(agency, sandbox):
    [viewing] = imported(
        agency,
        sandbox,
        "EST-9001",
        [vitec_viewing("vv-1", START, ["t-1"])],
        zip_code="903 26",
        postal_town="Umeå",
        heading="Charmig trea vid ån",
    )

    assert (viewing.title, viewing.address) == ("Charmig trea vid ån", "903 26 Umeå")


def test_an_estate_vitec_does_not_publish_is_imported_under_its_id(agency, sandbox):
    [viewing] = imported(
        agency, sandbox, "EST-9001", [vitec_viewing("vv-1", START, ["t-1"])], published=False
    )

    assert (viewing.title, viewing.address) == ("EST-9001", "")


def test_a_viewing_added_to_the_estate_later_is_titled_as_its_others(agency, sandbox):
    first = vitec_viewing("vv-1", START, ["t-1"])
    imported(agency, sandbox, "EST-9001", [first], street_address="Ågatan 3", postal_town="Umeå")
    later = vitec_viewing("vv-2", START + timedelta(days=1), ["t-2"])
    sandbox.set_vitec_estate("EST-9001", [first, later])

    scheduled_sync()

    added = Viewing.objects.get(provider_viewing_id="vv-2")
    assert (added.title, added.address) == ("Ågatan 3, Umeå", "Ågatan 3, Umeå")
    assert sandbox.requests_to(f"{ESTATE_LIST}/EST-9001") == 1  # at import only


def test_places_left_count_vitecs_participants_and_our_bookings_once(agency, sandbox):
    [viewing] = imported(
        agency, sandbox, "e-1", [vitec_viewing("vv-1", START, ["t-1"], participants={"t-1": 1})]
    )
    slot = viewing.slots.get()
    booking = make_booking(viewing, slot)
    assert slot.places_left() == 3 - 1 - 1  # Vitec's participant, our booking on its way

    assert deliver(booking.pk) == "delivered"
    assert slot.places_left() == 1  # ours delivered after Vitec's count was read

    scheduled_sync()

    slot = ViewingSlot.objects.with_live_booking_count().get(pk=slot.pk)
    assert slot.number_booked == 2  # Vitec now lists ours too
    assert slot.places_left() == ViewingSlot.objects.get(pk=slot.pk).places_left() == 1


def test_a_sync_that_finds_the_same_participants_writes_nothing(agency, sandbox):
    imported(
        agency, sandbox, "e-1", [vitec_viewing("vv-1", START, ["t-1"], participants={"t-1": 1})]
    )
    scheduled_sync()
    writes = []

    def count_writes(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            writes.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count_writes):
        summary = scheduled_sync()

    assert summary.rows_written == 0 and writes == []


def test_the_scheduled_sync_reads_only_the_estates_changed_since_its_last_pass(agency, sandbox):
    for estate_id in ("e-1", "e-2", "e-3"):
        imported(agency, sandbox, estate_id, [vitec_viewing(f"{estate_id}-v", START, ["t"])])
    scheduled_sync()  # the first pass reads every estate
    sandbox.set_vitec_estate("e-1", [vitec_viewing("e-1-v", START + timedelta(hours=1), ["t"])])
    before = {estate_id: reads_of(sandbox, estate_id) for estate_id in ("e-1", "e-2", "e-3")}

    summary = scheduled_sync()

    after = {estate_id: reads_of(sandbox, estate_id) for estate_id in ("e-1", "e-2", "e-3")}
    # e-3, changed last before the first pass, is where that pass's mark stands: the list
    # is asked from there inclusive (docs/vitec.md), so it is read once more.
    assert {e: after[e] - before[e] for e in after} == {"e-1": 1, "e-2": 0, "e-3": 1}
    assert summary.changes == 2  # the viewing and its slot moved
    assert Viewing.objects.get(provider_viewing_id="e-1-v").starts_at == START + timedelta(hours=1)


def test_the_scheduled_sync_reads_every_estate_again_once_a_day(agency, sandbox, settings):
    for estate_id in ("e-1", "e-2"):
        imported(agency, sandbox, estate_id, [vitec_viewing(f"{estate_id}-v", START, ["t"])])
    scheduled_sync()
    settings.VIEWING_SYNC_ALL_EVERY = 0

    scheduled_sync()

    assert reads_of(sandbox, "e-1") == reads_of(sandbox, "e-2") == 3  # import and two passes


def test_a_failed_read_leaves_the_mark_so_the_next_pass_reads_the_estate_again(agency, sandbox):
    imported(agency, sandbox, "e-1", [vitec_viewing("e-1-v", START, ["t"])])
    scheduled_sync()
    mark = ChangedSourcesMark.objects.get()
    sandbox.set_vitec_estate("e-1", [vitec_viewing("e-1-v", START, ["t"], startsAt="tomorrow")])

    summary = scheduled_sync()

    assert summary.errors
    assert ChangedSourcesMark.objects.get().changed_up_to == mark.changed_up_to


def test_an_estate_list_that_cannot_be_read_makes_the_sync_read_every_estate(agency, sandbox):
    for estate_id in ("e-1", "e-2"):
        imported(agency, sandbox, estate_id, [vitec_viewing(f"{estate_id}-v", START, ["t"])])
    scheduled_sync()
    sandbox.set_fault(status=503, count=1)  # the list, read first

    summary = scheduled_sync()

    assert reads_of(sandbox, "e-1") == reads_of(sandbox, "e-2") == 3
    assert [key.rsplit(" / ", 1)[1] for key in summary.errors] == ["changes"]


WRONG_SHAPES = {
    "not a list": ({"id": "x"}, "the answer"),
    "a viewing that is not an object": (["x"], "[0]"),
    "no startsAt": ([{"id": "v", "endsAt": "2031-06-10T17:00:00+02:00"}], "[0]"),
    "a time that is not a time": (
        [vitec_viewing("v", START, [], startsAt="tomorrow at five")],
        "[0].startsAt",
    ),
    "ends before it starts": (
        [vitec_viewing("v", START, [], endsAt="2031-06-10T16:00:00+02:00")],
        "[0].endsAt",
    ),
    "places as text": (
        [vitec_viewing("v", START, [], participantPerTimeSlot="3")],
        "[0].participantPerTimeSlot",
    ),
    "a slot id with a slash": ([vitec_viewing("v", START, ["a/b"])], "[0].timeSlots[0].id"),
    "time slots of numbers": (
        [vitec_viewing("v", START, [], timeSlots=[1, 2])],
        "[0].timeSlots[0]",
    ),
    "participants not a list": (
        [
            vitec_viewing(
                "v",
                START,
                ["t"],
                timeSlots=[
                    {
                        "id": "t",
                        "startsAt": "2031-06-10T17:00:00+02:00",
                        "endsAt": "2031-06-10T17:30:00+02:00",
                        "participants": 2,
                    }
                ],
            )
        ],
        "[0].timeSlots[0].participants",
    ),
}


@pytest.mark.parametrize("answer, field", WRONG_SHAPES.values(), ids=WRONG_SHAPES)
def test_an_answer_of_the_wrong_shape_names_the_field_and_imports_nothing(
    agency, sandbox, answer, field
):
    sandbox.set_vitec_estate("estate-1", answer)

    result = import_source(agency, "estate-1")

    message = problem_text(result.problem)
    assert "estate-1 has an unexpected shape" in message and f"({field}" in message
    assert not Viewing.objects.exists()


def test_a_sync_answer_of_the_wrong_shape_changes_nothing_and_says_where(agency, sandbox):
    imported(agency, sandbox, "e-1", [vitec_viewing("e-1-v", START, ["t"])])
    moved_and_broken = [
        vitec_viewing("e-1-v", START + timedelta(hours=1), ["t"]),
        vitec_viewing("e-1-w", START, [], endsAt="tomorrow"),
    ]
    sandbox.set_vitec_estate("e-1", moved_and_broken)

    scheduled_sync()

    viewing = Viewing.objects.get(provider_viewing_id="e-1-v")
    assert viewing.starts_at == START and "[1].endsAt" in problem_text(viewing.sync_problem)
    assert not Viewing.objects.filter(provider_viewing_id="e-1-w").exists()


def test_an_estate_list_of_the_wrong_shape_names_the_field(agency, sandbox):
    sandbox.set_fault(status=200, body={"rows": [{"id": "e-1"}]}, count=1)

    with pytest.raises(SourceReadError) as error:
        client_for(agency.credential).list_sources()

    assert "(rows[0]: 'changedAt' is a required property)" in problem_text(error.value.problem)
