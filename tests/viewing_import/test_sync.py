"""Sync of imported viewings with the providers over real HTTP: slots added, moved and
closed (with their bookings listed, never deleted or moved silently), each change
recorded; one request per deal or estate, back-off on 429, nothing written when nothing
changed; the three ways in (schedule, for the providers that allow it; admin action;
command)."""

import time
import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from agencies.models import CredentialStatus, Membership, Provider
from bookings.delivery import sending
from bookings.models import Booking, Viewing, ViewingChange, ViewingSlot
from bookings.viewing_import import tasks
from bookings.viewing_import.service import import_source
from bookings.viewing_import.sync import (
    Source,
    scheduled_viewings,
    sources_of,
    sync_sources,
    syncable_viewings,
)
from tests.factories import (
    make_booking,
    make_staff_user,
    mspecs_deal,
    mspecs_ordinary_viewing,
    mspecs_slot_viewing,
    vitec_viewing,
)

STOCKHOLM = zoneinfo.ZoneInfo("Europe/Stockholm")
START = datetime(2031, 6, 10, 17, 0, tzinfo=STOCKHOLM)
Kind = ViewingChange.Kind

pytestmark = pytest.mark.django_db


@pytest.fixture
def agency(make_agency):
    return make_agency(Provider.MSPECS)


def set_deal(sandbox, *viewings, deal_id="deal-1"):
    sandbox.set_mspecs_deal(deal_id, mspecs_deal(deal_id, list(viewings)))


@pytest.fixture
def imported(agency, sandbox):
    """Deal "deal-1" imported: viewing "v" with slots s-1, s-2 and ordinary viewing "o"."""
    set_deal(
        sandbox,
        mspecs_slot_viewing("v", START, ["s-1", "s-2"]),
        mspecs_ordinary_viewing("o", START + timedelta(days=1)),
    )
    result = import_source(agency, "deal-1")
    assert result.problem is None
    return Viewing.objects.get(provider_viewing_id="v")


def sync_all():
    return sync_sources(sources_of(syncable_viewings()))


def kinds(viewing):
    return sorted(change.kind for change in viewing.changes.exclude(kind=Kind.IMPORTED))


def test_a_new_slot_appears_and_is_recorded(imported, sandbox):
    set_deal(
        sandbox,
        mspecs_slot_viewing("v", START, ["s-1", "s-2", "s-3"]),
        mspecs_ordinary_viewing("o", START + timedelta(days=1)),
    )

    summary = sync_all()

    assert summary.changes == 2
    assert kinds(imported) == [Kind.MOVED, Kind.SLOT_ADDED]  # the viewing now ends later
    slot = imported.slots.get(provider_slot_id="s-3")
    assert slot.starts_at == START + timedelta(minutes=40)
    [change] = imported.changes.filter(kind=Kind.SLOT_ADDED)
    assert change.slot == slot


def test_a_moved_slot_is_updated_with_its_bookings_listed(imported, sandbox):
    slot = imported.slots.get(provider_slot_id="s-2")
    booking = make_booking(imported, slot)
    moved = mspecs_slot_viewing("v", START, ["s-1", "s-2"])
    moved["slots"][1]["startTime"] = "2031-06-10T18:30:00"
    set_deal(sandbox, moved, mspecs_ordinary_viewing("o", START + timedelta(days=1)))

    sync_all()

    slot.refresh_from_db()
    assert slot.starts_at == datetime(2031, 6, 10, 18, 30, tzinfo=STOCKHOLM)
    [change] = imported.changes.filter(kind=Kind.MOVED, slot=slot)
    assert change.booking_ids == [booking.pk]
    assert change.detail["before"][0].startswith("2031-06-10T17:20")
    booking.refresh_from_db()
    assert booking.slot == slot  # still on its slot, never moved to another


def test_a_removed_slot_is_closed_not_deleted_and_its_bookings_set_before_staff(imported, sandbox):
    slot = imported.slots.get(provider_slot_id="s-2")
    waiting = make_booking(imported, slot)
    delivered = make_booking(imported, slot, status=Booking.Status.DELIVERED)
    set_deal(
        sandbox,
        mspecs_slot_viewing("v", START, ["s-1"]),
        mspecs_ordinary_viewing("o", START + timedelta(days=1)),
    )

    sync_all()

    slot.refresh_from_db()
    assert slot.missing_from_provider and not slot.is_bookable
    [change] = imported.changes.filter(kind=Kind.SLOT_REMOVED)
    assert change.booking_ids == sorted([waiting.pk, delivered.pk])
    waiting.refresh_from_db()
    assert waiting.status == Booking.Status.REJECTED  # not sent into a certain refusal
    delivered.refresh_from_db()
    assert delivered.status == Booking.Status.DELIVERED


def test_a_removed_viewing_closes_for_booking_and_keeps_its_bookings(imported, sandbox):
    ordinary = Viewing.objects.get(provider_viewing_id="o")
    booking = make_booking(ordinary)
    set_deal(sandbox, mspecs_slot_viewing("v", START, ["s-1", "s-2"]))

    sync_all()

    ordinary.refresh_from_db()
    assert not ordinary.is_open and ordinary.removed_from_source_at is not None
    [change] = ordinary.changes.filter(kind=Kind.REMOVED)
    assert change.booking_ids == [booking.pk]
    assert Booking.objects.filter(pk=booking.pk).exists()


def test_a_waiting_booking_on_a_removed_viewing_without_slots_is_set_aside_not_sent(
    imported, sandbox
):
    booking = make_booking(Viewing.objects.get(provider_viewing_id="o"))
    set_deal(sandbox, mspecs_slot_viewing("v", START, ["s-1", "s-2"]))

    sync_all()
    sending.deliver(booking.pk)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.REJECTED
    assert booking.last_problem.code == "viewing_removed"
    assert sandbox.received("mspecs") == []


def test_a_booking_queued_after_its_viewing_was_removed_is_not_sent(imported, sandbox):
    ordinary = Viewing.objects.get(provider_viewing_id="o")
    set_deal(sandbox, mspecs_slot_viewing("v", START, ["s-1", "s-2"]))
    sync_all()
    booking = make_booking(ordinary)  # e.g. entered by staff after the sync

    sending.deliver(booking.pk)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.REJECTED
    assert sandbox.received("mspecs") == []


def test_a_viewing_back_in_the_provider_opens_again(imported, sandbox):
    set_deal(sandbox, mspecs_slot_viewing("v", START, ["s-1", "s-2"]))
    sync_all()
    set_deal(
        sandbox,
        mspecs_slot_viewing("v", START, ["s-1", "s-2"]),
        mspecs_ordinary_viewing("o", START + timedelta(days=1)),
    )

    sync_all()

    ordinary = Viewing.objects.get(provider_viewing_id="o")
    assert ordinary.is_open and ordinary.removed_from_source_at is None
    assert kinds(ordinary) == [Kind.REMOVED, Kind.RETURNED]


def test_a_changed_deadline_and_online_booking_are_recorded(imported, sandbox):
    set_deal(
        sandbox,
        mspecs_slot_viewing(
            "v",
            START,
            ["s-1", "s-2"],
            externalBookingLatestHourBefore=2,
            allowExternalBooking=False,
        ),
        mspecs_ordinary_viewing("o", START + timedelta(days=1)),
    )

    sync_all()

    imported.refresh_from_db()
    assert imported.booking_closes_at == START - timedelta(hours=2)
    assert not imported.bookable_from_internet
    assert kinds(imported) == [Kind.DEADLINE, Kind.ONLINE_BOOKING]


def test_free_spots_are_kept_current_and_none_left_is_full(imported, sandbox):
    set_deal(
        sandbox,
        mspecs_slot_viewing("v", START, ["s-1", "s-2"], free_spots=0),
        mspecs_ordinary_viewing("o", START + timedelta(days=1)),
    )

    sync_all()

    slot = imported.slots.get(provider_slot_id="s-1")
    assert slot.free_spots == 0 and slot.fully_booked


def test_a_second_sync_of_unchanged_data_writes_no_rows(imported, sandbox):
    sync_all()
    writes = []

    def count_writes(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            writes.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count_writes):
        summary = sync_all()

    assert summary.sources_read == 1
    assert summary.rows_written == 0 and writes == []


def test_a_sync_reads_each_deal_or_estate_once(agency, make_agency, sandbox):
    vitec = make_agency(Provider.VITEC)
    set_deal(
        sandbox,
        mspecs_slot_viewing("v1", START, ["a"]),
        mspecs_slot_viewing("v2", START + timedelta(days=1), ["b"]),
    )
    sandbox.set_vitec_estate(
        "e-1", [vitec_viewing("w1", START, ["t1"]), vitec_viewing("w2", START, ["t2"])]
    )
    import_source(agency, "deal-1")
    import_source(vitec, "e-1")
    before = sandbox.requests_served

    sync_all()

    assert sandbox.requests_served - before == 2
    assert sandbox.requests_to("/mspecs/api/marketing/deals/deal-1") == 2  # import + sync
    assert sandbox.requests_to("/vitec/Viewing/sandbox-customer/e-1") == 2


def test_deals_written_in_one_batch_each_meet_their_own_viewings(agency, sandbox, settings):
    settings.VIEWING_SYNC_CONCURRENCY = 1  # one call at a time: the answers form one batch
    for n in range(3):
        set_deal(sandbox, mspecs_slot_viewing(f"v{n}", START, ["s"]), deal_id=f"deal-{n}")
        import_source(agency, f"deal-{n}")
    booked = Viewing.objects.get(provider_viewing_id="v1")
    booking = make_booking(booked, booked.slots.get())
    for n in range(3):
        later = mspecs_slot_viewing(f"v{n}", START + timedelta(hours=1), ["s"])
        set_deal(sandbox, later, deal_id=f"deal-{n}")

    summary = sync_all()

    assert (summary.sources_read, summary.changes, summary.rows_written) == (3, 6, 12)
    for viewing in Viewing.objects.all():
        assert kinds(viewing) == [Kind.MOVED, Kind.MOVED]  # the viewing and its slot
        assert viewing.starts_at == viewing.slots.get().starts_at == START + timedelta(hours=1)
    assert [c.booking_ids for c in booked.changes.filter(kind=Kind.MOVED)] == [[booking.pk]] * 2
    assert sync_all().rows_written == 0


def test_a_vitec_slot_moves_and_closes_like_an_mspecs_one(make_agency, sandbox):
    agency = make_agency(Provider.VITEC)
    sandbox.set_vitec_estate("e-1", [vitec_viewing("w", START, ["t1", "t2"])])
    import_source(agency, "e-1")
    viewing = Viewing.objects.get(provider_viewing_id="w")
    booking = make_booking(viewing, viewing.slots.get(provider_slot_id="t2"))
    later = vitec_viewing("w", START + timedelta(hours=1), ["t1"])
    sandbox.set_vitec_estate("e-1", [later])

    sync_all()

    assert sorted(kinds(viewing)) == sorted([Kind.MOVED, Kind.MOVED, Kind.SLOT_REMOVED])
    [removed] = viewing.changes.filter(kind=Kind.SLOT_REMOVED)
    assert removed.booking_ids == [booking.pk]


def test_a_busy_provider_is_asked_again_after_its_retry_after(imported, sandbox):
    sandbox.set_fault(status=429, retry_after=1, count=1)
    started = time.monotonic()

    summary = sync_all()

    assert time.monotonic() - started >= 1.0
    assert summary.errors == {} and summary.sources_read == 1


def test_a_deal_that_fails_is_recorded_on_its_viewings_and_cleared_by_the_next(imported, sandbox):
    sandbox.set_fault(status=503, count=1)

    summary = sync_all()

    imported.refresh_from_db()
    assert "could not be read for deal-1: HTTP 503" in str(imported.sync_problem)
    assert list(summary.errors) == [f"{imported.agency} / deal-1"]
    sync_all()
    imported.refresh_from_db()
    assert imported.sync_problem is None


def test_a_wrong_shaped_answer_changes_nothing(imported, sandbox):
    sandbox.set_fault(status=200, body={**mspecs_deal("deal-1", []), "viewings": "gone"})

    sync_all()

    assert (
        imported.slots.count() == 2
        and not ViewingSlot.objects.filter(missing_from_provider=True).exists()
    )
    assert kinds(imported) == []


def test_an_agency_whose_credential_is_failing_is_not_called(imported, sandbox):
    imported.agency.credential.mark_status(CredentialStatus.FAILING)
    before = sandbox.requests_served

    summary = sync_all()

    assert sandbox.requests_served == before
    assert "credential is failing" in next(iter(summary.errors.values()))


def test_viewings_that_ended_are_not_synced_any_more(imported, sandbox):
    Viewing.objects.update(
        starts_at=START - timedelta(days=3650), ends_at=START - timedelta(days=3649)
    )

    assert sources_of(syncable_viewings()) == []


def test_sources_are_per_agency(agency, make_agency, sandbox):
    other = make_agency(Provider.MSPECS)
    set_deal(sandbox, mspecs_slot_viewing("v", START, ["s"]))
    import_source(agency, "deal-1")
    import_source(other, "deal-1")

    assert sorted((s.agency_id, s.source_id) for s in sources_of(syncable_viewings())) == sorted(
        [(agency.pk, "deal-1"), (other.pk, "deal-1")]
    )
    assert isinstance(sources_of(Viewing.objects.all())[0], Source)


def test_the_schedule_reads_no_mspecs_deal(imported, sandbox):
    # MSPECS forbids scheduled deal reads (docs/mspecs.md, "When we read deal data").
    set_deal(sandbox, mspecs_slot_viewing("v", START, ["s-1", "s-2", "s-3"]))
    before = sandbox.requests_served

    result = tasks.sync_imported_viewings.call()

    assert "0 deals or estates read" in result
    assert sandbox.requests_served == before
    assert imported.slots.count() == 2


def test_the_schedule_keeps_vitec_estates_up_to_date(imported, make_agency, sandbox):
    vitec = make_agency(Provider.VITEC)
    sandbox.set_vitec_estate("e-1", [vitec_viewing("w", START, ["t1"])])
    import_source(vitec, "e-1")

    assert sources_of(scheduled_viewings()) == [Source(vitec.pk, "e-1")]


def test_the_command_syncs(imported, sandbox, capsys):
    set_deal(sandbox, mspecs_slot_viewing("v", START, ["s-1", "s-2", "s-3"]))

    call_command("sync_viewings")

    assert imported.slots.count() == 3
    assert "1 deals or estates read" in capsys.readouterr().out


@pytest.mark.parametrize("role", ["superuser", "administrator", "staff"])
def test_the_admin_action_syncs_the_chosen_viewings(client, imported, sandbox, role):
    from django.contrib.auth import get_user_model

    if role == "superuser":
        user = get_user_model().objects.create_superuser("root", password="pw")
    else:
        roles = {"administrator": Membership.Role.ADMIN, "staff": Membership.Role.STAFF}
        user = make_staff_user(imported.agency, role=roles[role])
    client.force_login(user)
    set_deal(sandbox, mspecs_slot_viewing("v", START, ["s-1", "s-2", "s-3"]))

    response = client.post(
        reverse("admin:bookings_viewing_changelist"),
        {"action": "sync_from_provider", "_selected_action": [imported.pk]},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert "Synced: 1 deals or estates read" in response.content.decode()
    assert imported.slots.count() == 3


def test_the_admin_action_cannot_reach_another_agencys_viewing(
    client, imported, make_agency, sandbox
):
    client.force_login(make_staff_user(make_agency(), role=Membership.Role.ADMIN))
    before = sandbox.requests_served

    client.post(
        reverse("admin:bookings_viewing_changelist"),
        {"action": "sync_from_provider", "_selected_action": [imported.pk]},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert sandbox.requests_served == before


def test_the_viewing_page_shows_what_changed_with_the_bookings(admin_client, imported, sandbox):
    slot = imported.slots.get(provider_slot_id="s-2")
    booking = make_booking(imported, slot)
    set_deal(sandbox, mspecs_slot_viewing("v", START, ["s-1"]))
    sync_all()

    page = admin_client.get(
        reverse("admin:bookings_viewing_change", args=[imported.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert "Time removed: closed for booking" in page
    assert f"?id__in={booking.pk}" in page
