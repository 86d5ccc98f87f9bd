"""Send now, re-send, cancel, mark delivered: what they change and how they count."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bookings.delivery import sending, staff_actions
from bookings.models import Booking
from bookings.problems import delivery as problems
from tests.factories import by_staff, make_booking

Status = Booking.Status


@pytest.fixture
def agency(make_agency):
    return make_agency()


def statuses(bookings):
    return [Booking.objects.get(pk=b.pk).status for b in bookings]


@pytest.mark.django_db
def test_send_now_brings_a_retry_forward_and_delivers(agency, django_capture_on_commit_callbacks):
    later = timezone.now() + timedelta(hours=1)
    booking = make_booking(agency, status=Status.RETRYING, next_attempt_at=later)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = staff_actions.send_now(Booking.objects.filter(pk=booking.pk), by_staff())

    assert result.message == "1 booking queued to be sent now."
    assert len(callbacks) == 1
    assert sending.deliver(booking.pk) == "delivered"


@pytest.mark.django_db
def test_resend_restarts_stopped_bookings_and_counts_the_rest(agency):
    stopped = [
        make_booking(agency, status=status, attempt_count=6, last_problem=problems.BUSY(status=503))
        for status in (Status.FAILED, Status.REJECTED, Status.NEEDS_REVIEW, Status.HELD)
    ]
    delivered = [make_booking(agency, status=Status.DELIVERED) for _ in range(3)]

    result = staff_actions.resend(Booking.objects.all(), by_staff())

    assert result.message == (
        "4 bookings queued to be sent again. 3 bookings skipped: already delivered."
    )
    assert statuses(stopped) == [Status.QUEUED] * 4
    queued = Booking.objects.filter(status="queued")
    assert {(b.attempt_count, b.last_problem) for b in queued} == {(0, None)}
    assert statuses(delivered) == [Status.DELIVERED] * 3


@pytest.mark.django_db
def test_cancel_leaves_delivered_and_sending_bookings_alone(agency):
    waiting = make_booking(agency)
    delivered = make_booking(agency, status=Status.DELIVERED)
    sending = make_booking(agency, status=Status.SENDING)

    result = staff_actions.cancel(Booking.objects.all(), by_staff())

    assert result.done == 1
    assert dict(result.skipped) == {"already delivered": 1, "being sent right now": 1}
    assert statuses([waiting, delivered, sending]) == [
        Status.CANCELLED,
        Status.DELIVERED,
        Status.SENDING,
    ]


@pytest.mark.django_db
def test_a_cancelled_booking_is_not_sent(agency, sandbox):
    booking = make_booking(agency)

    staff_actions.cancel([booking], by_staff())

    assert sending.deliver(booking.pk) is None
    assert sandbox.received() == []


@pytest.mark.django_db
def test_mark_delivered_only_takes_bookings_that_need_review(agency):
    review = make_booking(agency, status=Status.NEEDS_REVIEW)
    make_booking(agency, status=Status.FAILED)

    result = staff_actions.mark_delivered(Booking.objects.all(), by_staff())

    assert result.message == (
        "1 booking marked as delivered. 1 booking skipped: failed (use Re-send)."
    )
    review.refresh_from_db()
    assert review.status == Status.DELIVERED
    assert review.delivered_at is not None


@pytest.mark.django_db
def test_resend_leaves_a_rejected_booking_whose_buyer_has_booked_that_time_again(agency):
    rejected = make_booking(agency, status=Status.REJECTED, email="anna@example.se")
    make_booking(agency, email="anna@example.se")  # the buyer's corrected, live booking

    result = staff_actions.resend(Booking.objects.filter(pk=rejected.pk), by_staff())

    assert result.message == ("1 booking skipped: the buyer has booked this time again since.")
    assert statuses([rejected]) == [Status.REJECTED]
