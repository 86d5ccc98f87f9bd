from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from agencies.models import CredentialStatus
from bookings import polling
from bookings.delivery import sending
from bookings.intake.service import accept_booking
from bookings.models import Booking, Viewing, ViewingSlot
from bookings.polling import poll_due_slots
from bookings.problems import delivery as problems
from tests.factories import (
    in_english,
    make_agency,
    make_slot_viewing,
    make_staff_user,
    unsaved_booking,
)


@pytest.fixture
def agency(db, sandbox):
    return make_agency(sandbox=sandbox)


def test_one_request_per_deal_however_many_viewings_and_slots(agency, sandbox):
    sandbox.set_deal("deal-1", {"a1": 5, "a2": 5, "a3": 5})
    sandbox.set_deal("deal-2", {"b1": 5})
    make_slot_viewing(agency, "deal-1", ["a1", "a2"])
    make_slot_viewing(agency, "deal-1", ["a3"])
    make_slot_viewing(agency, "deal-2", ["b1"])

    summary = polling.poll_slots()

    assert sandbox.requests_served == 2
    assert summary.deals_polled == 2
    assert summary.errors == {}


def test_poll_stores_booked_count_fullness_and_check_time(agency, sandbox):
    sandbox.set_deal("deal-1", {"a1": 2, "a2": 5, "a3": 5}, booked={"a1": 2, "a2": 1})
    viewing = make_slot_viewing(agency, "deal-1", ["a1", "a2", "a3"])
    before = timezone.now()

    summary = polling.poll_slots()

    slots = {s.provider_slot_id: s for s in viewing.slots.all()}
    assert (slots["a1"].number_booked, slots["a1"].fully_booked) == (2, True)
    assert (slots["a2"].number_booked, slots["a2"].fully_booked) == (1, False)
    assert all(s.status_checked_at >= before for s in slots.values())
    assert summary.slots_changed == 2  # a3 was already 0 booked and open
    viewing.refresh_from_db()
    assert viewing.slots_polled_at >= before


def test_a_slot_the_answer_does_not_mention_is_unknown_not_full(agency, sandbox):
    sandbox.set_deal("deal-1", {"a1": 5})
    viewing = make_slot_viewing(agency, "deal-1", ["a1", "unmentioned"])
    viewing.slots.filter(provider_slot_id="unmentioned").update(fully_booked=True)

    summary = polling.poll_slots()

    slot = viewing.slots.get(provider_slot_id="unmentioned")
    assert slot.status_unknown and slot.is_bookable
    assert not (slot.fully_booked or slot.missing_from_provider)
    assert not viewing.slots.get(provider_slot_id="a1").status_unknown
    assert summary.slots_changed == 1


def test_a_slot_mentioned_again_is_known_again(agency, sandbox):
    sandbox.set_deal("deal-1", {"a1": 5}, booked={"a1": 5})
    viewing = make_slot_viewing(agency, "deal-1", ["a1"])
    viewing.slots.update(status_unknown=True)

    polling.poll_slots()

    slot = viewing.slots.get()
    assert not slot.status_unknown and slot.fully_booked


def test_a_booking_for_a_slot_of_unknown_status_goes_ahead(agency, sandbox):
    sandbox.set_deal("deal-1", {"a1": 5})
    viewing = make_slot_viewing(agency, "deal-1", ["a1", "unmentioned"])
    slot = viewing.slots.get(provider_slot_id="unmentioned")
    booking = accept_booking(unsaved_booking(viewing, slot))

    summary = polling.poll_slots()
    served = sandbox.requests_served

    assert summary.bookings_set_aside == 0
    sending.deliver(booking.pk)
    assert sandbox.requests_served == served + 1  # posted: MSPECS's answer decides


def test_errors_are_recorded_per_deal_and_do_not_stop_the_others(agency, sandbox):
    sandbox.set_deal("deal-ok", {"a1": 1}, booked={"a1": 1})
    ok = make_slot_viewing(agency, "deal-ok", ["a1"])
    unknown = make_slot_viewing(agency, "deal-unknown", ["x1"])
    locked_out = make_agency(sandbox=sandbox)
    locked_out.credential.secret = "wrong"
    locked_out.credential.save()
    unauthorised = make_slot_viewing(locked_out, "deal-ok", ["a1"])

    summary = polling.poll_slots()

    assert summary.deals_polled == 3
    assert len(summary.errors) == 2
    for viewing, reason in [(unknown, "HTTP 404"), (unauthorised, "HTTP 401")]:
        viewing.refresh_from_db()
        assert reason in in_english(viewing.slot_poll_problem)
        assert viewing.slots_polled_at is not None
    ok.refresh_from_db()
    assert ok.slot_poll_problem is None
    assert ok.slots.get().fully_booked


def test_a_successful_poll_clears_the_last_error(agency, sandbox):
    sandbox.set_deal("deal-1", {"a1": 5})
    viewing = make_slot_viewing(
        agency, "deal-1", ["a1"], slot_poll_problem=problems.HTTP_STATUS(status=500)
    )

    polling.poll_slots()

    viewing.refresh_from_db()
    assert viewing.slot_poll_problem is None


def test_a_timeout_is_recorded_on_the_viewing(agency, sandbox, settings):
    settings.BROKER_READ_TIMEOUT = 0.2
    sandbox.set_deal("deal-1", {"a1": 5})
    sandbox.set_fault(mode="hang", hang_seconds=1)
    viewing = make_slot_viewing(agency, "deal-1", ["a1"])

    polling.poll_slots()

    viewing.refresh_from_db()
    assert "read timeout" in in_english(viewing.slot_poll_problem)


def test_an_agency_without_credential_is_an_error_without_a_request(db, sandbox):
    viewing = make_slot_viewing(make_agency(with_credential=False), "deal-1", ["a1"])

    summary = polling.poll_slots()

    viewing.refresh_from_db()
    assert "no broker-system credential" in in_english(viewing.slot_poll_problem)
    assert sandbox.requests_served == 0
    assert summary.deals_polled == 0


def test_an_agency_with_a_failing_credential_waits_without_a_request(agency, sandbox):
    sandbox.set_deal("deal-1", {"a1": 5})
    viewing = make_slot_viewing(agency, "deal-1", ["a1"])
    agency.credential.mark_status(CredentialStatus.FAILING, problems.CREDENTIAL_REFUSED(status=401))

    summary = polling.poll_slots()

    viewing.refresh_from_db()
    assert "waits for the broker-system credential to be fixed" in in_english(
        viewing.slot_poll_problem
    )
    assert sandbox.requests_served == 0
    assert summary.deals_polled == 0


def test_only_open_upcoming_viewings_are_polled_by_default(agency, sandbox):
    sandbox.set_deal("deal-open", {"a1": 5})
    open_viewing = make_slot_viewing(agency, "deal-open", ["a1"])
    make_slot_viewing(agency, "deal-closed", ["b1"], is_open=False)
    make_slot_viewing(agency, "deal-past", ["c1"], starts_in=timedelta(days=-2))

    polling.poll_slots()

    assert sandbox.requests_served == 1
    open_viewing.refresh_from_db()
    assert open_viewing.slots_polled_at is not None


def test_calls_for_one_agency_respect_its_concurrency_bound(agency, sandbox, settings):
    settings.SLOT_POLL_CONCURRENCY = 4
    settings.SLOT_POLL_CONCURRENCY_PER_AGENCY = 2
    sandbox.set_latency(0.05)
    for number in range(6):
        sandbox.set_deal(f"deal-{number}", {f"s{number}": 5})
        make_slot_viewing(agency, f"deal-{number}", [f"s{number}"])

    summary = polling.poll_slots()

    assert summary.deals_polled == 6
    assert sandbox.max_in_flight == 2


def test_an_agencys_session_pools_a_connection_for_each_call_in_flight(agency, settings):
    settings.SLOT_POLL_CONCURRENCY_PER_AGENCY = 16

    client = polling._client(agency)

    assert client.session.get_adapter(agency.credential.base_url)._pool_maxsize == 16


def test_due_viewings_poll_more_often_close_to_the_viewing(agency, settings):
    settings.SLOT_POLL_INTERVAL = 300
    settings.SLOT_POLL_INTERVAL_SOON = 60
    settings.SLOT_POLL_SOON_HOURS = 24
    two_minutes_ago = timezone.now() - timedelta(minutes=2)
    soon = make_slot_viewing(agency, "d1", ["a"], starts_in=timedelta(hours=2))
    later = make_slot_viewing(agency, "d2", ["b"], starts_in=timedelta(days=5))
    never = make_slot_viewing(agency, "d3", ["c"], starts_in=timedelta(days=5))
    Viewing.objects.filter(pk__in=[soon.pk, later.pk]).update(slots_polled_at=two_minutes_ago)

    assert set(polling.due_viewings()) == {soon, never}


def test_queued_booking_in_a_slot_that_filled_up_is_set_aside_for_staff(agency, sandbox):
    sandbox.set_deal("deal-1", {"a1": 5})
    viewing = make_slot_viewing(agency, "deal-1", ["a1"])
    slot = viewing.slots.get()
    booking = unsaved_booking(viewing, slot)
    booking.full_clean()
    booking.save()
    sandbox.set_deal("deal-1", {}, booked={"a1": 5})  # other buyers filled it meanwhile

    summary = polling.poll_slots()

    booking.refresh_from_db()
    assert booking.status == Booking.Status.REJECTED
    assert "fully booked" in in_english(booking.last_problem)
    assert booking.unbookable_reason
    assert summary.bookings_set_aside == 1


def test_poll_slots_command_prints_progress_and_summary(agency, sandbox, capsys):
    sandbox.set_deal("deal-1", {"a1": 1})
    make_slot_viewing(agency, "deal-1", ["a1"])
    make_slot_viewing(agency, "deal-missing", ["b1"])

    call_command("poll_slots")

    out, err = capsys.readouterr()
    assert "2/2 deals" in out
    assert "deals polled: 2, slots changed: 0" in out
    assert "errors: 1" in out
    assert "deal-missing" in err
    assert ViewingSlot.objects.filter(status_checked_at__isnull=False).count() == 1


def test_admin_action_refreshes_the_selected_viewings_only(agency, sandbox, client):
    sandbox.set_deal("deal-1", {"a1": 1}, booked={"a1": 1})
    chosen = make_slot_viewing(agency, "deal-1", ["a1"])
    make_slot_viewing(agency, "deal-2", ["b1"])
    client.force_login(make_staff_user(agency, username="staff"))

    response = client.post(
        reverse("admin:bookings_viewing_changelist"),
        {"action": "refresh_slot_status", "_selected_action": [chosen.pk]},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert "1 deal polled, 1 slot changed, 0 errors." in response.content.decode()
    assert sandbox.requests_served == 1
    assert chosen.slots.get().fully_booked


def test_admin_action_cannot_reach_another_agencys_viewing(agency, sandbox, client):
    sandbox.set_deal("deal-1", {"a1": 5})
    theirs = make_slot_viewing(make_agency(sandbox=sandbox), "deal-1", ["a1"])
    client.force_login(make_staff_user(agency, username="staff"))

    client.post(
        reverse("admin:bookings_viewing_changelist"),
        {"action": "refresh_slot_status", "_selected_action": [theirs.pk]},
    )

    assert sandbox.requests_served == 0


def test_worker_task_polls_only_due_deals_and_is_scheduled(agency, sandbox):
    sandbox.set_deal("deal-due", {"a1": 5})
    due = make_slot_viewing(agency, "deal-due", ["a1"])
    make_slot_viewing(agency, "deal-fresh", ["b1"], slots_polled_at=timezone.now())

    result = poll_due_slots.call()

    assert result == "1 deal polled, 0 slots changed, 0 errors."
    due.refresh_from_db()
    assert due.slots_polled_at is not None
