"""The admin start page tells each user what needs them in the agencies they work on, each
count a link to the list it counts, and shows the last 14 days' bookings by outcome."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agencies.models import CredentialStatus, Membership, Provider
from agencies.problems import Problem
from bookings import cockpit
from bookings.models import Booking
from bookings.problems.delivery import POLL_FAILED
from tests.factories import (
    delivered_booking,
    make_agency,
    make_booking,
    make_mixed_user,
    make_slot,
    make_staff_user,
    make_viewing,
)

INDEX = reverse("admin:index")
BOOKINGS = reverse("admin:bookings_booking_changelist")
Status = Booking.Status


def bookings_in(agency, *statuses, **fields):
    viewing = make_viewing(agency)
    return [make_booking(viewing, status=status, **fields) for status in statuses]


def start_page(client, user) -> str:
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.get(INDEX)
    assert response.status_code == 200
    return unescape(response.content.decode())


def section(page: str, agency_name: str) -> str:
    """The start page's part about one agency."""
    match = re.search(rf"<h3>{agency_name}</h3>(.*?)</section>", page, re.S)
    assert match, f"no section for {agency_name}"
    return match.group(1)


def count_of(page: str, agency_name: str, label: str) -> int:
    text = re.sub(r"<[^>]+>", "", section(page, agency_name))
    match = re.search(rf"(\d+) {label}", text)
    assert match, f"no {label!r} for {agency_name}"
    return int(match.group(1))


ROLES = {
    "staff": lambda own, second: make_staff_user(own),
    "administrator": lambda own, second: make_staff_user(own, role=Membership.Role.ADMIN),
    "staff here, administrator there": make_mixed_user,
}


@pytest.mark.parametrize("role", ROLES)
def test_each_member_sees_the_counts_of_their_own_agencies_only(client, own, second, other, role):
    bookings_in(own, Status.HELD, Status.NEEDS_REVIEW, Status.REJECTED, Status.REJECTED)
    bookings_in(own, Status.FAILED, Status.RETRYING, Status.DELIVERED, Status.QUEUED)
    bookings_in(other, Status.FAILED, Status.FAILED, Status.FAILED)

    page = start_page(client, ROLES[role](own, second))

    assert count_of(page, "Own Agency", "held") == 1
    assert count_of(page, "Own Agency", "needs? review") == 1
    assert count_of(page, "Own Agency", "rejected") == 2
    assert count_of(page, "Own Agency", "failed") == 1
    assert count_of(page, "Own Agency", "retrying") == 1
    assert "Other Agency" not in page
    assert ("Second Agency" in page) == (role == "staff here, administrator there")


def test_a_superuser_sees_every_agency(client, own, other, admin_user):
    bookings_in(own, Status.FAILED)
    bookings_in(other, Status.FAILED, Status.FAILED)

    page = start_page(client, admin_user)

    assert count_of(page, "Own Agency", "failed") == 1
    assert count_of(page, "Other Agency", "failed") == 2


def test_a_count_links_to_the_booking_list_showing_exactly_those_bookings(client, own, other):
    rejected = bookings_in(own, Status.REJECTED, email="rejected@example.se")
    bookings_in(own, Status.FAILED, email="failed@example.se")
    bookings_in(other, Status.REJECTED, email="theirs@example.se")
    user = make_staff_user(own, other)

    page = start_page(client, user)
    link = re.search(r'<a href="([^"]+)"><strong>1 rejected</strong>', section(page, "Own Agency"))
    listed = client.get(link.group(1)).content.decode()

    assert link.group(1).startswith(BOOKINGS)
    assert rejected[0].email in listed
    assert "failed@example.se" not in listed
    assert "theirs@example.se" not in listed


def test_held_names_the_failing_credential_and_why(client, own):
    bookings_in(own, Status.HELD)
    own.credential.status = CredentialStatus.FAILING
    own.credential.status_problem = Problem("legacy", {"text": "HTTP 401 from the login"})
    own.credential.save()

    held_part = section(start_page(client, make_staff_user(own)), "Own Agency")

    assert "credential failing: Own Agency" in held_part
    assert "HTTP 401 from the login" in held_part


def test_retrying_says_how_long_the_oldest_has_waited(client, own):
    old, _newer = bookings_in(own, Status.RETRYING, Status.RETRYING)
    Booking.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=5))

    part = section(start_page(client, make_staff_user(own)), "Own Agency")

    assert "oldest: 5\xa0hours" in part


def test_slot_poll_errors_count_open_upcoming_viewings_and_link_to_them(client, own):
    failing = make_viewing(
        own, title="Failing poll", slot_poll_problem=POLL_FAILED(deal="d", answer="x")
    )
    make_viewing(own, is_open=False, slot_poll_problem=POLL_FAILED(deal="e", answer="x"))
    make_viewing(own, title="Fine")

    page = start_page(client, make_staff_user(own))
    link = re.search(r'<a href="([^"]+)"><strong>1 slot-poll error</strong>', page)
    listed = client.get(link.group(1)).content.decode()

    assert count_of(page, "Own Agency", "slot-poll errors?") == 1
    assert failing.title in listed
    assert "Fine" not in listed


def test_quarantine_entries_waiting_count_emails_per_viewing_and_link_to_the_mirror(client, own):
    viewing, other_viewing = make_viewing(own), make_viewing(own)
    delivered_booking(viewing, email="a@example.se")
    delivered_booking(viewing, email="b@example.se")
    delivered_booking(other_viewing, email="a@example.se")

    page = start_page(client, make_staff_user(own))

    assert count_of(page, "Own Agency", "waiting in quarantine") == 3
    assert f"{reverse('admin:quarantine_mirror')}?agency={own.pk}" in page


def test_the_start_page_costs_the_same_queries_with_more_agencies_and_bookings(
    client, own, second, other
):
    user = make_mixed_user(own, second)
    bookings_in(own, Status.FAILED)
    client.force_login(user)
    with CaptureQueriesContext(connection) as few:
        client.get(INDEX)

    Membership.objects.create(user=user, agency=other)
    for agency in (own, second, other):
        bookings_in(agency, *Status.values)
        delivered_booking(make_viewing(agency), email="x@example.se")
    with CaptureQueriesContext(connection) as many:
        client.get(INDEX)

    assert len(many) == len(few)


def test_the_chart_stacks_the_last_14_days_by_outcome(client, own, other):
    bookings_in(own, Status.DELIVERED, Status.DELIVERED, Status.FAILED, Status.CANCELLED)
    [two_weeks_ago] = bookings_in(own, Status.DELIVERED)
    Booking.objects.filter(pk=two_weeks_ago.pk).update(
        created_at=timezone.now() - timedelta(days=20)
    )
    bookings_in(other, Status.DELIVERED)

    days = cockpit.bookings_by_day(make_staff_user(own))
    page = start_page(client, make_staff_user(own))

    assert len(days) == 14
    assert days[-1].day == timezone.localdate()
    assert days[-1].counts == {"delivered": 2, "on_the_way": 0, "stopped": 1, "cancelled": 1}
    assert sum(day.total for day in days) == 4
    assert page.count('<g class="chart-day">') == 14
    assert ": 2 delivered</title>" in page


def test_bars_are_scaled_to_the_busiest_day(db):
    today = timezone.localdate()
    days = [
        cockpit.Day(
            today - timedelta(days=1),
            {"delivered": 2, "on_the_way": 0, "stopped": 2, "cancelled": 0},
        ),
        cockpit.Day(today, {"delivered": 1, "on_the_way": 0, "stopped": 0, "cancelled": 0}),
    ]

    busy, quiet = cockpit.chart_bars(days)

    assert [segment.height for segment in busy.segments] == [60, 60]
    assert [segment.y for segment in busy.segments] == [60, 0]
    assert quiet.segments[0].height == 30
    assert quiet.x == cockpit.BAR_STEP


def test_a_user_with_no_agency_is_told_so(client, db):
    page = start_page(client, make_staff_user())

    assert "You work on no agency yet" in page


def test_the_counted_statuses_are_the_ones_the_partial_index_covers():
    counted = {count.status for count in cockpit.BOOKING_COUNTS if count.status}

    assert counted == set(Booking.Status.watched())


def test_quarantine_entries_beyond_the_limit_say_more_than(client, own, monkeypatch):
    monkeypatch.setattr(cockpit, "QUARANTINE_COUNT_LIMIT", 2)
    viewing = make_viewing(own)
    for n in range(3):
        delivered_booking(viewing, make_slot(viewing), email=f"buyer{n}@example.se")

    page = start_page(client, make_staff_user(own))

    assert "more than 2 waiting in quarantine" in section(page, "Own Agency")


def test_a_vitec_agency_has_no_quarantine_count(client, db):
    vitec = make_agency(Provider.VITEC, name="Vitec Agency")

    part = section(start_page(client, make_staff_user(vitec)), "Vitec Agency")

    assert "quarantine" not in part


def test_bookings_in_doubt_or_too_late_are_counted_for_staff(client, own):
    bookings_in(own, Status.PROBABLY_DELIVERED, Status.TOO_LATE, Status.TOO_LATE)

    page = start_page(client, make_staff_user(own))

    assert count_of(page, "Own Agency", "probably delivered") == 1
    assert count_of(page, "Own Agency", "too late") == 2


def test_buyers_cancellation_requests_are_counted_until_staff_cancel_them(client, own):
    asked = timezone.now()
    bookings_in(own, Status.DELIVERED, Status.DELIVERED, cancellation_requested_at=asked)
    bookings_in(own, Status.CANCELLED, cancellation_requested_at=asked)  # done by staff
    bookings_in(own, Status.DELIVERED)  # nobody asked

    page = start_page(client, make_staff_user(own))

    assert count_of(page, "Own Agency", "buyers? asked to cancel") == 2


def test_the_cancellation_requests_link_lists_exactly_those_bookings(client, own):
    asked = timezone.now()
    requested = bookings_in(own, Status.DELIVERED, cancellation_requested_at=asked)
    bookings_in(own, Status.CANCELLED, Status.DELIVERED, cancellation_requested_at=None)
    bookings_in(own, Status.CANCELLED, cancellation_requested_at=asked)
    staff = make_staff_user(own)
    link = re.search(r'href="([^"]+)"><strong>1 buyer asked to cancel', start_page(client, staff))

    listed = client.get(unescape(link.group(1)))

    assert [booking.pk for booking in listed.context["cl"].result_list] == [requested[0].pk]


def test_an_open_circuit_is_named_with_why_the_deliveries_are_held(client, own):
    own.credential.circuit_opened_at = timezone.now()
    own.credential.circuit_problem = Problem("legacy", {"text": "HTTP 503 five times in a row"})
    own.credential.save()

    page = start_page(client, make_staff_user(own))

    assert "circuit open" in section(page, "Own Agency")
    assert "HTTP 503 five times in a row" in section(page, "Own Agency")
