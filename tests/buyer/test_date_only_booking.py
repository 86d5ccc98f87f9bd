"""A booking of an MSPECS date-only viewing (docs/mspecs.md) is a day without a time
everywhere the buyer reads it: the status page, the email and the calendar file."""

import zoneinfo
from datetime import date, datetime

import pytest
from django.urls import reverse
from icalendar import Calendar

from agencies.models import Provider
from bookings.buyer.emails import ended_email
from bookings.buyer.links import status_path, status_token
from bookings.models import Booking
from tests.factories import make_booking, make_viewing

STOCKHOLM = zoneinfo.ZoneInfo("Europe/Stockholm")
pytestmark = pytest.mark.django_db


@pytest.fixture
def booking(make_agency):
    viewing = make_viewing(
        make_agency(Provider.MSPECS),
        date_only=True,
        starts_at=datetime(2031, 6, 14, tzinfo=STOCKHOLM),
        ends_at=datetime(2031, 6, 15, tzinfo=STOCKHOLM),
    )
    return make_booking(viewing, None, language="en")


def test_the_status_page_shows_the_day_without_a_time(booking, client):
    text = client.get(status_path(booking)).content.decode()

    assert '<time datetime="2031-06-14">Saturday 14 June 2031</time>' in text
    assert "00:00" not in text


def test_the_email_names_the_day_without_a_time(booking):
    booking.status = Booking.Status.REJECTED

    body = ended_email(booking).body

    assert "\nSaturday 14 June 2031\n" in body
    assert "00:00" not in body


def test_the_calendar_file_holds_an_all_day_event(booking, client):
    response = client.get(reverse("buyer-calendar", args=[status_token(booking)]))

    [event] = Calendar.from_ical(response.content).walk("VEVENT")
    assert event.decoded("dtstart") == date(2031, 6, 14)
    assert event.decoded("dtend") == date(2031, 6, 15)
    assert "DTSTART;VALUE=DATE:20310614" in response.content.decode()
