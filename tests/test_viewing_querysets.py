from datetime import timedelta

import pytest
from django.utils import timezone

from bookings.models import Viewing, ViewingSlot
from tests.factories import make_agency, make_viewing

pytestmark = pytest.mark.django_db


def test_bookable_viewings_are_open_not_ended_and_of_active_agencies():
    bookable = make_viewing()
    make_viewing(is_open=False)
    make_viewing(make_agency(is_active=False))
    make_viewing(starts_at=timezone.now() - timedelta(hours=2))  # ended an hour ago
    started = make_viewing(starts_at=timezone.now() - timedelta(minutes=30))

    assert set(Viewing.objects.bookable()) == {bookable, started}


def test_bookable_at_a_given_time():
    viewing = make_viewing()

    assert not Viewing.objects.bookable(viewing.ends_at).exists()


def test_upcoming_slots_have_not_started(slot_viewing):
    upcoming = slot_viewing.slots.upcoming()

    assert [slot.provider_slot_id for slot in upcoming] == ["slot-open", "slot-full"]
    assert ViewingSlot.objects.upcoming().count() == 2
