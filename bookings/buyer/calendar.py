"""The booking as an iCalendar (.ics) event, made with the `icalendar` library: it escapes
and folds text as RFC 5545 requires (an address with commas or a title with a line break
would otherwise break the file) and writes times in UTC, which every calendar reads. A day
booked without a time (a date-only viewing) is an all-day event."""

from dataclasses import dataclass

from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext, gettext_lazy
from icalendar import Calendar, Event

from bookings.buyer.status import BuyerState, buyer_state, confirmed_by_provider
from bookings.models import Booking


@dataclass(frozen=True)
class EventState:
    """What the event says, and its SEQUENCE: each later state outranks the one before,
    so a calendar that has the event replaces it with the file downloaded again (same
    UID)."""

    status: str
    sequence: int
    file_name: str


# file_name: what the calendar file is called (slugified), in the buyer's language.
TENTATIVE = EventState("TENTATIVE", 0, gettext_lazy("viewing %(title)s not yet confirmed"))
CONFIRMED = EventState("CONFIRMED", 1, gettext_lazy("viewing %(title)s confirmed"))
CANCELLED = EventState("CANCELLED", 2, gettext_lazy("viewing %(title)s cancelled"))


def event_state(booking: Booking) -> EventState:
    """Confirmed only once the provider confirmed it (bookings/buyer/status.py); delivered
    into a broker's quarantine is not yet. Cancelled also once the buyer asked to."""
    if buyer_state(booking) in (BuyerState.CANCELLED, BuyerState.CANCELLATION_REQUESTED):
        return CANCELLED
    return CONFIRMED if confirmed_by_provider(booking) else TENTATIVE


def calendar_file_name(booking: Booking, state: EventState) -> str:
    """Says what the file is, in the active language, e.g.
    "visning-kungsgatan-5-annu-inte-bekraftad.ics"."""
    return f"{slugify(state.file_name % {'title': booking.viewing.title})[:100]}.ics"


def booking_calendar(booking: Booking, status_url: str) -> tuple[str, bytes]:
    """The file name and the file: one event for the booked time; downloading it again
    after a change updates it (same UID, higher SEQUENCE), also to cancelled."""
    state = event_state(booking)
    starts_at, ends_at = booking.booked_time
    viewing = booking.viewing
    event = Event()
    event.add("uid", f"{viewing.public_id}-{booking.pk}@viewing-bridge")
    event.add("dtstamp", timezone.now())
    event.add("sequence", state.sequence)
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
    event.add("status", state.status)
    calendar = Calendar()
    calendar.add("prodid", "-//Viewing Bridge//Viewing booking//EN")
    calendar.add("version", "2.0")
    calendar.add_component(event)
    return calendar_file_name(booking, state), calendar.to_ical()
