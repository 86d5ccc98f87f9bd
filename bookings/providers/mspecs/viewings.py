"""An MSPECS viewing as both of MSPECS's APIs describe it (docs/mspecs.md, "Deals and their
viewings" and "Two APIs"), read into the shape import and sync take."""

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from bookings.models import Viewing
from bookings.providers.base import BROKER_TIME_ZONE, ImportedSlot, ImportedViewing, read_id

# Viewing types (docs/mspecs.md, "Deals and their viewings"): a time-slot viewing is booked
# into a slot; one with a date and time, or with a date only, is booked as a whole. A
# comment or "contact the broker" names nothing a buyer could book and is not imported.
TIME_SLOTS = "ENUMS_VIEWINGS_TYPE_TIME_SLOTS"
DATE_AND_TIME = "ENUMS_VIEWINGS_TYPE_DATE_AND_TIME"
DATE_ONLY = "ENUMS_VIEWINGS_TYPE_DATE_ONLY"
BOOKABLE_TYPES = (TIME_SLOTS, DATE_AND_TIME, DATE_ONLY)
# Assumed (docs/mspecs.md): a viewing with a date and time but no endDate lasts an hour.
DEFAULT_VIEWING_LENGTH = timedelta(hours=1)


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=BROKER_TIME_ZONE)


def viewing_day(value: str, parse_time: Callable[[str], datetime]) -> date:
    """A date-only viewing's day: the provider API writes a date; MSPX writes every date as
    a UTC datetime (assumed for this type, docs/mspecs.md), whose day is the Swedish one."""
    if "T" not in value:
        return date.fromisoformat(value)
    return parse_time(value).astimezone(BROKER_TIME_ZONE).date()


def read_viewing(
    viewing: dict, title: str, address: str, parse_time: Callable[[str], datetime]
) -> ImportedViewing:
    """One viewing of a deal the contract has checked, of a BOOKABLE_TYPES type, its times
    read with `parse_time` (the provider API writes Swedish time, MSPX UTC)."""
    slots = []
    if viewing["type"] == DATE_ONLY:
        # A day, no time (assumed: the day in Swedish time, from its first moment).
        day = viewing_day(viewing["startDate"], parse_time)
        start_date = starts_at = start_of_day(day)
        ends_at = start_of_day(day + timedelta(days=1))
        viewing_type = Viewing.Type.ORDINARY
    elif viewing["type"] == TIME_SLOTS:
        # Assumed (docs/mspecs.md): a slot lasts slotLength minutes and takes slotCapacity.
        start_date = parse_time(viewing["startDate"])
        length = timedelta(minutes=viewing["slotLength"])
        for slot in viewing.get("slots", []):
            slot_start = parse_time(slot["startTime"])
            slots.append(
                ImportedSlot(
                    read_id(slot["id"]),
                    slot_start,
                    slot_start + length,
                    capacity=viewing.get("slotCapacity"),
                    free_spots=slot.get("freeSpots"),
                )
            )
        starts_at = min([start_date, *(s.starts_at for s in slots)])
        ends_at = max((s.ends_at for s in slots), default=starts_at + length)
        viewing_type = Viewing.Type.TIME_SLOTS
    else:
        start_date = starts_at = parse_time(viewing["startDate"])
        end = viewing.get("endDate")
        ends_at = parse_time(end) if end else starts_at + DEFAULT_VIEWING_LENGTH
        viewing_type = Viewing.Type.ORDINARY
    if ends_at <= starts_at:
        raise ValueError("a viewing ends before it starts")
    # "the amount of hours before startDate contacts are allowed to book" (the OpenAPI).
    latest_hours = viewing.get("externalBookingLatestHourBefore")
    return ImportedViewing(
        viewing_id=read_id(viewing["id"]),
        viewing_type=viewing_type,
        starts_at=starts_at,
        ends_at=ends_at,
        bookable_from_internet=viewing.get("allowExternalBooking") is True,
        booking_closes_at=None
        if latest_hours is None
        else start_date - timedelta(hours=latest_hours),
        slots=slots,
        title=title,
        address=address,
        date_only=viewing["type"] == DATE_ONLY,
        hide_times=viewing.get("hideStartDate") is True,
    )
