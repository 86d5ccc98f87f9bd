import pytest
from django.core.exceptions import ValidationError

from bookings.delivery import sending
from bookings.intake.service import accept_booking
from bookings.models import Booking
from tests.factories import in_english, make_agency, make_slot_viewing, unsaved_booking


@pytest.fixture
def slot(db):
    return make_slot_viewing(make_agency(), "deal-1", ["a1"]).slots.get()


def test_booking_validation_refuses_a_fully_booked_slot(slot):
    slot.fully_booked = True
    slot.save()

    with pytest.raises(ValidationError) as refused:
        unsaved_booking(slot.viewing, slot).full_clean()

    assert refused.value.message_dict["slot"] == ["This slot is fully booked; choose another."]


def test_booking_validation_refuses_a_slot_the_provider_no_longer_lists(slot):
    slot.missing_from_provider = True
    slot.save()

    with pytest.raises(ValidationError, match="fully booked"):
        unsaved_booking(slot.viewing, slot).full_clean()


def test_intake_accepts_a_slot_with_room_left(slot):
    slot.number_booked = 3
    slot.save()
    booking = unsaved_booking(slot.viewing, slot)
    booking.full_clean()

    accept_booking(booking)

    assert booking.pk and booking.status == Booking.Status.QUEUED


def test_a_slot_marked_full_by_the_provider_refuses_the_next_booking(slot):
    slot.mark_fully_booked()

    with pytest.raises(ValidationError, match="fully booked"):
        unsaved_booking(slot.viewing, slot).full_clean()


def test_a_booking_already_queued_is_set_aside_rather_than_sent(db, sandbox):
    viewing = make_slot_viewing(make_agency(sandbox=sandbox), "deal-1", ["a1"])
    slot = viewing.slots.get()
    booking = accept_booking(unsaved_booking(viewing, slot))
    slot.mark_fully_booked()

    sending.deliver(booking.pk)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.REJECTED
    assert "Move the booking to another slot" in in_english(booking.last_problem)
    assert sandbox.requests_served == 0
