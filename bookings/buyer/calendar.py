"""The booking as an iCalendar (.ics) event, made with the `icalendar` library: it escapes
and folds text as RFC 5545 requires (an address with commas or a title with a line break
would otherwise break the file) and writes times in UTC, which every calendar reads. A day
booked without a time (a date-only viewing) is an all-day event."""

from django.utils import timezone
from django.utils.translation import gettext
from icalendar import Calendar, Event

from bookings.buyer.status import BuyerState, buyer_state
from bookings.models import Booking

EVENT_STATUS = {
    BuyerState.DELIVERED: "CONFIRMED",
    BuyerState.CANCELLED: "CANCELLED",
    BuyerState.CANCELLATION_REQUESTED: "CANCELLED",
}


def booking_calendar(booking: Booking, status_url: str) -> bytes:
    """One event for the booked time; downloading it again after a change updates it (same
    UID, later DTSTAMP), also to cancelled."""
    starts_at, ends_at = booking.booked_time
    viewing = booking.viewing
    event = Event()
    event.add("uid", f"{viewing.public_id}-{booking.pk}@viewing-bridge")
    event.add("dtstamp", timezone.now())
    if booking.booked_by_date:  # DTSTART;VALUE=DATE: the day, no time
        starts_at, ends_at = (timezone.localdate(moment) for moment in (starts_at, ends_at))
    event.add("dtstart", starts_at)
    event.add("dtend", ends_at)
    event.add("summary", gettext("Viewing: %(title)s") % {"title": viewing.title})
    if viewing.address:
        event.add("location", viewing.address)
    event.add(
        "description",
        gettext("Booked with %(agency)s. Your booking: %(url)s")
        % {"agency": booking.agency.name_for_buyers, "url": status_url},
    )
    event.add("url", status_url)
    event.add("status", EVENT_STATUS.get(buyer_state(booking), "TENTATIVE"))
    calendar = Calendar()
    calendar.add("prodid", "-//Viewing Bridge//Viewing booking//EN")
    calendar.add("version", "2.0")
    calendar.add_component(event)
    return calendar.to_ical()
