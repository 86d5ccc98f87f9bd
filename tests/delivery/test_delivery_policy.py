"""The delivery policy (docs/delivery.md): a retry schedule of days, "too late" once a
booking's slot or viewing has started, MSPECS lost answers repeated at most twice, and the
circuit breaker per credential. Over real HTTP to the sandbox."""

import importlib
import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from agencies.models import CredentialStatus, Provider, ProviderCredential
from bookings.delivery import sending, staff_actions, sweep
from bookings.delivery.credentials import check_credential, resume_held
from bookings.delivery.sending import claim_seconds, deliver
from bookings.models import Booking, Outcome
from bookings.problems import delivery as problems
from bookings.quarantine.queries import pending_entries, with_bookings
from tests import factories
from tests.factories import (
    by_staff,
    in_english,
    make_booking,
    make_slot,
    make_staff_user,
    make_user_in_role,
    make_viewing,
)

Status = Booking.Status
CIRCUIT = {
    "CIRCUIT_BREAKER_THRESHOLD": 3,
    "CIRCUIT_BREAKER_PROBE_SECONDS": 60,
    "CIRCUIT_BREAKER_PROBE_MAX_SECONDS": 600,
}


def refreshed(instance):
    instance.refresh_from_db()
    return instance


def make_due(*bookings):
    """As the dispatcher finds them once their retry time came."""
    Booking.objects.filter(pk__in=[b.pk for b in bookings]).update(next_attempt_at=timezone.now())


# --- the retry schedule -------------------------------------------------------------------


def test_default_retry_schedule_keeps_trying_for_at_least_72_hours_even_with_jitter():
    from config import settings as defaults  # the defaults, as no environment overrides them

    schedule = defaults.DELIVERY_RETRY_SCHEDULE
    assert sum(schedule) * (1 - sending.RETRY_JITTER) >= 72 * 3600
    assert schedule[0] <= 10  # a blip is retried within seconds
    assert schedule == sorted(schedule)


# --- too late -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_booking_whose_slot_has_started_ends_too_late_without_being_sent(make_agency, sandbox):
    booking = make_booking(make_agency(Provider.VITEC))
    booking.slot.starts_at = timezone.now() - timedelta(minutes=1)
    booking.slot.save()

    assert deliver(booking.pk) is None

    booking = refreshed(booking)
    assert booking.status == Status.TOO_LATE
    assert in_english(booking.last_problem) == (
        "Not delivered before its slot started; no longer sent."
    )
    assert sandbox.requests_served == 0


@pytest.mark.django_db
def test_a_booking_without_slot_ends_too_late_once_the_viewing_started(make_agency, sandbox):
    agency = make_agency(Provider.MSPECS)
    viewing = make_viewing(agency, starts_at=timezone.now() - timedelta(minutes=5))
    booking = make_booking(viewing, status=Status.RETRYING)

    assert deliver(booking.pk) is None

    booking = refreshed(booking)
    assert booking.status == Status.TOO_LATE
    assert "before the viewing started" in in_english(booking.last_problem)
    assert sandbox.requests_served == 0


@pytest.mark.django_db
def test_a_retry_is_never_scheduled_after_the_slot_starts(make_agency, sandbox):
    sandbox.set_fault("status", status=503)
    booking = make_booking(make_agency(Provider.VITEC))
    starts_at = timezone.now() + timedelta(seconds=5)
    booking.slot.starts_at = starts_at
    booking.slot.save()

    with override_settings(DELIVERY_RETRY_SCHEDULE=[3600]):
        assert deliver(booking.pk) == Outcome.RETRY

    booking = refreshed(booking)
    assert booking.status == Status.RETRYING
    assert booking.next_attempt_at == starts_at  # woken then, to end too late


@pytest.mark.django_db
def test_a_slot_later_in_a_started_viewing_is_still_sent(make_agency, sandbox):
    agency = make_agency(Provider.VITEC)
    viewing = make_viewing(agency, starts_at=timezone.now() - timedelta(minutes=10))
    slot = make_slot(viewing, starts_at=timezone.now() + timedelta(minutes=20))
    booking = make_booking(viewing, slot)

    assert deliver(booking.pk) == Outcome.DELIVERED


@pytest.mark.django_db
def test_too_late_bookings_are_listed_by_their_own_status_filter(client, make_agency):
    agency = make_agency()
    make_booking(agency, status=Status.TOO_LATE, first_name="Sen")
    make_booking(agency, status=Status.FAILED, first_name="Fel")
    client.force_login(make_staff_user(agency))

    page = client.get(
        "/admin/bookings/booking/?status__exact=too_late", HTTP_ACCEPT_LANGUAGE="sv"
    ).content.decode()

    assert "Sen Andersson" in page and "Fel Andersson" not in page
    assert "För sent" in page


@pytest.mark.django_db
def test_the_booking_page_says_why_it_was_too_late(client, make_agency):
    agency = make_agency()
    booking = make_booking(agency, status=Status.TOO_LATE, last_problem=problems.SLOT_STARTED())
    client.force_login(make_staff_user(agency))

    page = client.get(
        f"/admin/bookings/booking/{booking.pk}/change/", HTTP_ACCEPT_LANGUAGE="sv"
    ).content.decode()

    assert "För sent" in page
    assert "Inte levererad innan tiden började; skickas inte längre." in page


# --- MSPECS lost answers ----------------------------------------------------------------------


@pytest.mark.django_db
@override_settings(BROKER_READ_TIMEOUT=0.2, DELIVERY_RETRY_SCHEDULE=[1, 1, 1, 1, 1])
def test_mspecs_lost_answers_are_repeated_twice_then_probably_delivered(make_agency, sandbox):
    sandbox.set_fault("hang", hang_seconds=0.5)  # each post lands; its answer comes too late
    booking = make_booking(make_agency(Provider.MSPECS))

    outcomes = []
    for _ in range(5):
        outcomes.append(deliver(booking.pk))
        make_due(booking)

    assert outcomes == [Outcome.ANSWER_LOST] * 3 + [None, None]
    assert len(sandbox.received("mspecs")) == 3  # the first post and two repeats, no more
    booking = refreshed(booking)
    assert booking.status == Status.PROBABLY_DELIVERED
    assert "3 posts got no answer" in in_english(booking.last_problem)


@pytest.mark.django_db
@override_settings(
    BROKER_READ_TIMEOUT=0.2, DELIVERY_RETRY_SCHEDULE=[1], DELIVERY_LOST_ANSWER_WAIT=900
)
def test_a_lost_mspecs_answer_is_repeated_only_after_the_longer_wait(make_agency, sandbox):
    sandbox.set_fault("hang", hang_seconds=0.5)
    booking = make_booking(make_agency(Provider.MSPECS))
    before = timezone.now()

    deliver(booking.pk)

    wait = (refreshed(booking).next_attempt_at - before).total_seconds()
    assert wait >= 900 > claim_seconds()
    assert deliver(booking.pk) is None  # not due: no second post while the first may run
    assert sandbox.requests_served == 1


@pytest.mark.django_db
@override_settings(BROKER_READ_TIMEOUT=0.2, DELIVERY_RETRY_SCHEDULE=[1, 1])
def test_a_lost_answer_then_busy_answers_ends_probably_delivered_not_failed(make_agency, sandbox):
    sandbox.set_fault("hang", hang_seconds=0.5, count=1)
    booking = make_booking(make_agency(Provider.MSPECS))
    deliver(booking.pk)
    sandbox.set_fault("status", status=503)

    for _ in range(2):
        make_due(booking)
        deliver(booking.pk)

    assert refreshed(booking).status == Status.PROBABLY_DELIVERED


@pytest.mark.django_db
@override_settings(BROKER_READ_TIMEOUT=0.2)
def test_lost_answers_still_count_after_the_booking_was_held_and_resumed(make_agency, sandbox):
    agency = make_agency(Provider.MSPECS)
    booking = make_booking(agency, status=Status.HELD, lost_answer_count=2)
    resume_held(agency)
    sandbox.set_fault("hang", hang_seconds=0.5)

    assert deliver(booking.pk) == Outcome.ANSWER_LOST

    booking = refreshed(booking)
    assert booking.status == Status.PROBABLY_DELIVERED  # the third lost answer: no more posts
    assert booking.lost_answer_count == 3


@pytest.mark.django_db
def test_staff_re_send_starts_counting_lost_answers_again(make_agency):
    booking = make_booking(make_agency(), status=Status.PROBABLY_DELIVERED, lost_answer_count=3)

    staff_actions.resend(Booking.objects.filter(pk=booking.pk), by_staff())

    assert refreshed(booking).lost_answer_count == 0


@pytest.mark.django_db
@override_settings(BROKER_READ_TIMEOUT=0.2)
def test_vitec_lost_answer_is_never_repeated(make_agency, sandbox):
    sandbox.set_fault("hang", hang_seconds=0.5)
    booking = make_booking(make_agency(Provider.VITEC))

    assert deliver(booking.pk) == Outcome.NEEDS_REVIEW
    assert deliver(booking.pk) is None
    assert len(sandbox.received("vitec")) == 1


@pytest.mark.django_db
def test_quarantine_mirror_shows_probably_delivered_bookings_flagged(client, make_agency):
    agency = make_agency(Provider.MSPECS)
    booking = make_booking(agency, status=Status.PROBABLY_DELIVERED, first_name="Trolig")
    superuser = make_staff_user()
    superuser.is_superuser = True
    superuser.save()

    [entry] = with_bookings(pending_entries(superuser))
    client.force_login(superuser)
    page = client.get("/admin/quarantine/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert entry.probably_delivered and entry.current == booking
    assert "Trolig Andersson" in page
    assert "probably delivered: the answer was lost; check in MSPECS" in page


@pytest.mark.django_db
def test_probably_delivered_can_be_marked_delivered_once_checked(make_agency):
    booking = make_booking(make_agency(), status=Status.PROBABLY_DELIVERED)

    result = staff_actions.mark_delivered(Booking.objects.filter(pk=booking.pk), by_staff())

    assert result.done == 1
    assert refreshed(booking).status == Status.DELIVERED


# --- the circuit breaker --------------------------------------------------------------------


def fail_in_a_row(agency, sandbox, n, status=500, **fault):
    sandbox.set_fault("status", status=status, **fault)
    bookings = [make_booking(agency) for _ in range(n)]
    return [deliver(b.pk) for b in bookings], bookings


@pytest.mark.django_db
@override_settings(**CIRCUIT)
def test_failures_in_a_row_open_the_circuit_and_hold_the_agency(make_agency, sandbox):
    agency = make_agency(Provider.VITEC)
    waiting = [make_booking(agency) for _ in range(5)]
    other_agency_booking = make_booking(make_agency(Provider.MSPECS))

    fail_in_a_row(agency, sandbox, 3)

    credential = refreshed(agency.credential)
    assert credential.circuit_is_open
    assert credential.status != CredentialStatus.FAILING  # not a refused login
    assert "failed 3 times in a row (HTTP 500)" in in_english(credential.circuit_problem)
    assert credential.circuit_next_probe_at > timezone.now() + timedelta(seconds=50)
    assert {refreshed(b).status for b in waiting} == {Status.HELD}
    assert "One booking at a time tests it" in in_english(refreshed(waiting[0]).last_problem)
    served = sandbox.requests_served
    assert [deliver(b.pk) for b in waiting] == [None] * 5  # held: not due, nothing sent
    assert sandbox.requests_served == served
    assert refreshed(other_agency_booking).status == Status.QUEUED


@pytest.mark.django_db
@override_settings(**CIRCUIT)
def test_a_success_between_failures_keeps_the_circuit_closed(make_agency, sandbox):
    agency = make_agency(Provider.MSPECS)
    fail_in_a_row(agency, sandbox, 2)
    sandbox.clear_fault()
    deliver(make_booking(agency).pk)
    fail_in_a_row(agency, sandbox, 2)

    assert not refreshed(agency.credential).circuit_is_open


@pytest.mark.django_db
@override_settings(**CIRCUIT)
def test_an_open_circuit_sends_one_probe_when_due_then_releases_all(make_agency, sandbox):
    agency = make_agency(Provider.VITEC)
    _, failed = fail_in_a_row(agency, sandbox, 3)
    held = [make_booking(agency, status=Status.HELD) for _ in range(3)] + failed
    sandbox.clear_fault()
    served = sandbox.requests_served

    assert sweep.sweep()["probes"] == 0  # not due yet
    ProviderCredential.objects.filter(pk=agency.credential.pk).update(
        circuit_next_probe_at=timezone.now()
    )
    assert sweep.sweep()["probes"] == 1
    [probe] = Booking.objects.filter(status=Status.QUEUED)
    assert sweep.sweep()["probes"] == 0  # one probe at a time
    assert deliver(probe.pk) == Outcome.DELIVERED

    assert not refreshed(agency.credential).circuit_is_open
    assert Booking.objects.filter(status=Status.QUEUED).count() == len(held) - 1
    for booking in Booking.objects.filter(status=Status.QUEUED):
        deliver(booking.pk)
    assert Booking.objects.filter(status=Status.DELIVERED).count() == len(held)
    assert sandbox.requests_served == served + len(held)


@pytest.mark.django_db
@override_settings(**CIRCUIT)
def test_a_failed_probe_waits_twice_as_long_for_the_next(make_agency, sandbox):
    agency = make_agency(Provider.MSPECS)
    fail_in_a_row(agency, sandbox, 3)
    ProviderCredential.objects.filter(pk=agency.credential.pk).update(
        circuit_next_probe_at=timezone.now()
    )
    before = timezone.now()

    assert deliver(make_booking(agency).pk) == Outcome.RETRY  # the probe: fails, held
    assert deliver(make_booking(agency).pk) == Outcome.RETRY  # not the probe: held unsent

    credential = refreshed(agency.credential)
    assert credential.circuit_is_open and credential.circuit_probes == 1
    assert credential.circuit_next_probe_at >= before + timedelta(seconds=120)
    assert sandbox.requests_served == 4
    assert Booking.objects.filter(status=Status.HELD).count() == 5


@pytest.mark.django_db
@override_settings(**CIRCUIT)
def test_a_429s_retry_after_delays_the_next_probe(make_agency, sandbox):
    agency = make_agency(Provider.MSPECS)
    fail_in_a_row(agency, sandbox, 3)
    ProviderCredential.objects.filter(pk=agency.credential.pk).update(
        circuit_next_probe_at=timezone.now()
    )
    sandbox.set_fault("status", status=429, retry_after=3000)
    before = timezone.now()

    deliver(make_booking(agency).pk)  # the probe

    credential = refreshed(agency.credential)
    assert credential.circuit_next_probe_at >= before + timedelta(seconds=3000)


# --- a provider asking for a pause -------------------------------------------------------


@pytest.mark.django_db
def test_a_429s_retry_after_pauses_the_agencys_other_bookings_unsent(make_agency, sandbox):
    agency = make_agency(Provider.MSPECS)
    other_agency_booking = make_booking(make_agency(Provider.VITEC))
    sandbox.set_fault("status", status=429, retry_after=600, count=1)
    before = timezone.now()

    assert deliver(make_booking(agency).pk) == Outcome.RETRY
    served = sandbox.requests_served
    others = [make_booking(agency) for _ in range(3)]

    assert [deliver(b.pk) for b in others] == [Outcome.RETRY] * 3
    assert sandbox.requests_served == served  # none posted
    for booking in map(refreshed, others):
        assert (booking.status, booking.attempt_count) == (Status.RETRYING, 0)
        assert booking.next_attempt_at >= before + timedelta(seconds=600)
    assert deliver(other_agency_booking.pk) == Outcome.DELIVERED


@pytest.mark.django_db
@pytest.mark.parametrize("system", [Provider.MSPECS, Provider.VITEC])
def test_once_the_retry_after_has_passed_the_agencys_bookings_go_again(
    system, make_agency, sandbox
):
    agency = make_agency(system)
    sandbox.set_fault("status", status=429, retry_after=1, count=1)
    deliver(make_booking(agency).pk)
    waiting = make_booking(agency)
    assert deliver(waiting.pk) == Outcome.RETRY

    time.sleep(1.1)
    make_due(waiting)

    assert deliver(waiting.pk) == Outcome.DELIVERED


def credential_page(client, agency) -> str:
    """The agency's credential page in the admin, in English."""
    return client.get(
        f"/admin/agencies/providercredential/{agency.credential.pk}/change/",
        HTTP_ACCEPT_LANGUAGE="en",
    ).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["superuser", "administrator"])
def test_the_credential_page_says_until_when_the_agency_is_paused(
    role, client, make_agency, sandbox
):
    agency = make_agency(Provider.MSPECS)
    sandbox.set_fault("status", status=429, retry_after=600, count=1)
    deliver(make_booking(agency).pk)
    client.force_login(make_user_in_role(role, agency))

    page = credential_page(client, agency)

    assert "Paused until" in page and "asked us to wait" in page


# --- attempts -------------------------------------------------------------------------------


@pytest.mark.django_db
@override_settings(DELIVERY_RETRY_SCHEDULE=[30, 600, 6000])
def test_a_resumed_booking_keeps_its_attempts_and_starts_the_schedule_afresh(make_agency, sandbox):
    agency = make_agency(Provider.VITEC)
    booking = make_booking(agency)
    sandbox.set_fault("status", status=500)
    for _ in range(2):
        deliver(booking.pk)
        make_due(booking)
    Booking.objects.filter(pk=booking.pk).update(status=Status.HELD)
    resume_held(agency)  # as a closing circuit does
    before = timezone.now()

    deliver(booking.pk)

    booking = refreshed(booking)
    assert booking.attempt_count == booking.attempts.count() == 3
    assert booking.next_attempt_at <= before + timedelta(seconds=30 * 1.2 + 1)


@pytest.mark.django_db
@override_settings(**CIRCUIT, BROKER_READ_TIMEOUT=0.2)
def test_timeouts_count_towards_the_circuit(make_agency, sandbox):
    agency = make_agency(Provider.VITEC)
    sandbox.set_fault("hang", hang_seconds=0.5)

    for _ in range(3):
        deliver(make_booking(agency).pk)

    assert refreshed(agency.credential).circuit_is_open


@pytest.mark.django_db
@override_settings(**CIRCUIT)
def test_a_refused_login_holds_through_the_credential_not_the_circuit(make_agency, sandbox):
    agency = make_agency(Provider.VITEC, secret="wrong")
    bookings = [make_booking(agency) for _ in range(4)]

    deliver(bookings[0].pk)

    credential = refreshed(agency.credential)
    assert credential.status == CredentialStatus.FAILING
    assert not credential.circuit_is_open
    assert {refreshed(b).status for b in bookings} == {Status.HELD}
    assert sandbox.requests_served == 1


@pytest.mark.django_db
@override_settings(**CIRCUIT)
def test_a_successful_connection_test_closes_the_circuit_and_releases_the_held(
    make_agency, sandbox
):
    agency = make_agency(Provider.MSPECS)
    make_viewing(agency, mspecs_deal_id="deal-9")
    sandbox.set_deal("deal-9", {"slot-1": 5})  # the check reads this deal's slot status: 200
    _, failed = fail_in_a_row(agency, sandbox, 3)
    sandbox.clear_fault()

    check = check_credential(refreshed(agency.credential), by_staff())

    assert check.ok is True
    assert not refreshed(agency.credential).circuit_is_open
    assert Booking.objects.filter(status=Status.QUEUED).count() == len(failed)


@pytest.mark.django_db
@override_settings(**CIRCUIT)
def test_the_credential_page_says_whether_the_circuit_is_open(client, make_agency, sandbox):
    agency = make_agency(Provider.MSPECS)
    fail_in_a_row(agency, sandbox, 3)
    client.force_login(make_staff_user(agency, role="admin"))

    page = credential_page(client, agency)

    assert "Open since" in page and "Next probe at" in page


@pytest.mark.django_db
def test_the_migration_counts_every_attempt_a_booking_made_before_its_last_fresh_schedule():
    from django.apps import apps

    migration = importlib.import_module(
        "bookings.migrations.0027_attempts_before_run_and_slot_status_unknown"
    )
    booking = make_booking(factories.make_agency(), status=Status.RETRYING, attempt_count=1)
    for _ in range(3):  # two before the counter was reset, one since
        booking.attempts.create(endpoint="POST /bookings", outcome=Outcome.RETRY)

    migration.count_every_attempt(apps, None)

    booking = refreshed(booking)
    assert (booking.attempt_count, booking.attempts_before_run) == (3, 2)
