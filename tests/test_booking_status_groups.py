"""The status groups on Booking.Status: every status is waiting, being sent, stopped or
final, exactly one of them."""

from bookings.models import Booking

Status = Booking.Status


def test_every_status_is_in_exactly_one_group():
    groups = [Status.waiting(), [Status.SENDING], Status.stopped(), Status.final()]

    assert sorted(s for group in groups for s in group) == sorted(Status)


def test_live_bookings_are_the_ones_not_refused_failed_cancelled_or_too_late():
    assert set(Status) - set(Status.live()) == {
        Status.REJECTED,
        Status.FAILED,
        Status.CANCELLED,
        Status.TOO_LATE,
    }
