"""A booking's delivery attempts on its admin page: times to the second, and a run of
attempts that went the same way (the same call, the same answer) as one row saying how
many times and until when, for every role that sees the booking."""

import re
from datetime import datetime

import pytest
from django.urls import reverse

from bookings.models import DeliveryAttempt, Outcome
from tests.factories import (
    ROLES,
    STOCKHOLM,
    admin_booking_data,
    make_booking,
    make_user_in_role,
)

pytestmark = pytest.mark.django_db


def attempt(booking, second, status, outcome=Outcome.RETRY):
    return DeliveryAttempt.objects.create(
        booking=booking,
        started_at=datetime(2031, 6, 10, 10, 19, second, tzinfo=STOCKHOLM),
        endpoint="POST /deals/d1/viewings",
        http_status=status,
        outcome=outcome,
        response_excerpt=f"HTTP {status}: upptaget",
    )


def attempt_rows(client, booking) -> list[str]:
    page = client.get(reverse("admin:bookings_booking_change", args=[booking.pk])).text
    cells = re.findall(r'<td class="field-started">\s*<p>(.*?)</p>', page, re.S)
    return [cell.strip() for cell in cells]


@pytest.mark.parametrize("role", ROLES)
def test_identical_attempts_in_a_row_are_one_row_saying_how_many_and_until_when(client, own, role):
    booking = make_booking(own)
    for second in (1, 2, 3):
        attempt(booking, second, 503)
    attempt(booking, 4, 500)
    attempt(booking, 5, 503)  # the same as the first three, but not in their run
    client.force_login(make_user_in_role(role, own))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    rows = attempt_rows(client, booking)

    assert rows == [
        "2031-06-10 10:19:01 to 2031-06-10 10:19:03, 3 times",
        "2031-06-10 10:19:04",
        "2031-06-10 10:19:05",
    ]


def test_the_row_of_a_run_reads_in_swedish(client, own):
    booking = make_booking(own)
    for second in (1, 2):
        attempt(booking, second, 503)
    client.force_login(make_user_in_role("staff", own))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "sv"

    assert attempt_rows(client, booking) == [
        "2031-06-10 10:19:01 till 2031-06-10 10:19:02, 2 gånger"
    ]


def test_attempts_that_differ_only_in_their_answer_are_not_grouped(own):
    booking = make_booking(own)
    first = attempt(booking, 1, 503)
    second = attempt(booking, 2, 503)
    DeliveryAttempt.objects.filter(pk=second.pk).update(response_excerpt="HTTP 503: annat")

    assert [[a.pk for a in run] for run in booking.attempts.runs()] == [[first.pk], [second.pk]]


def test_an_attempt_alone_is_a_run_of_one(own):
    booking = make_booking(own)
    only = attempt(booking, 1, 200, Outcome.DELIVERED)

    assert [[a.pk for a in run] for run in booking.attempts.runs()] == [[only.pk]]


def test_a_booking_with_grouped_attempts_saves_as_its_page_posts_it(client, own):
    booking = make_booking(own, status="rejected")
    for second in (1, 2, 3):
        attempt(booking, second, 503)
    client.force_login(make_user_in_role("staff", own))
    # The page's form: its one attempt row, as the management form counts it.
    data = admin_booking_data(
        booking.viewing,
        booking.slot,
        first_name="Åsa",
        **{"attempts-TOTAL_FORMS": "1", "attempts-INITIAL_FORMS": "1"},
        **{"attempts-0-id": str(booking.attempts.order_by("pk").first().pk)},
        **{"attempts-0-booking": str(booking.pk)},
    )

    response = client.post(reverse("admin:bookings_booking_change", args=[booking.pk]), data)

    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.first_name == "Åsa"
    assert booking.attempts.count() == 3
