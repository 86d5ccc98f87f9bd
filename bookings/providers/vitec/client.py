"""Vitec Express Connect API (docs/vitec.md): add a viewing participant, read an estate's
viewings, describe an estate and page through the customer's published estates. Every
answer is checked against the contract (`contract/`) before it is read."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from requests.structures import CaseInsensitiveDict

from bookings.fanout import call_each
from bookings.models import Viewing
from bookings.providers.base import (
    SHAPE_ERRORS,
    CallRecord,
    ChangedSources,
    ImportedSlot,
    ImportedViewing,
    ProviderClient,
    SourceListing,
    SourceReadError,
    check_unique_ids,
    describe_shape_error,
    normalise_errors,
    parse_broker_time,
    read_id,
)
from bookings.providers.contracts import Contract, ContractViolation

if TYPE_CHECKING:
    from bookings.models import Booking

CONTRACT = Contract(Path(__file__).parent / "contract")

# Estates per page of `GET Advertising/Estate/{customerId}`, and the index of its first
# page: Vitec publishes neither (docs/vitec.md, "Assumptions left open").
ESTATE_PAGE_SIZE = 100
FIRST_PAGE_INDEX = 0
# More pages than this is not a list but a loop (an index the answer never advances).
ESTATE_MAX_PAGES = 1000
ESTATE_LIST = "Advertising/Estate"

# The ModelState key Vitec uses when booking-limit validation finds the slot full (in
# whatever case the API answers it); assumed, docs/vitec.md.
BOOKING_LIMIT_ERROR = "bookinglimit"

TITLE_LENGTH = Viewing._meta.get_field("title").max_length
ADDRESS_LENGTH = Viewing._meta.get_field("address").max_length


@dataclass(frozen=True)
class _EstateRead:
    """One estate to describe, for bookings/fanout.py (which bounds calls per agency)."""

    agency_id: int
    estate_id: str


class VitecClient(ProviderClient):
    # Adding a participant is not idempotent: a second post adds a second participant.
    lost_answer_repeats = 0
    # updatePerson.* and the email's emailAddress (docs/vitec.md); matched on the last part.
    booking_fields = {
        "firstName": "first_name",
        "lastName": "last_name",
        "emailAddress": "email",
        "email": "email",
        "cellPhone": "phone",
        "contactMessage": "message",
        "timeSlotId": "slot",
    }

    @property
    def customer(self) -> str:
        return quote(self.credential.vitec_customer_id, safe="")

    @property
    def connection_check_endpoint(self) -> str:
        # The first estate of the customer's list: an authenticated read whose 200 proves the
        # login and the customer (401 a bad login, 403 a customer we may not use).
        return self.estates_endpoint(FIRST_PAGE_INDEX, page_size=1)

    @staticmethod
    def estate_list_query(
        page_index: int, since: datetime | None = None, page_size: int = ESTATE_PAGE_SIZE
    ) -> dict[str, Any]:
        """The query of one page of the estate list (estate-list-query.schema.json)."""
        query: dict[str, Any] = {"PageSize": page_size, "PageIndex": page_index}
        if since is not None:
            query["ChangedAtMinValue"] = since.isoformat()
        return query

    def estates_endpoint(
        self, page_index: int, since: datetime | None = None, page_size: int = ESTATE_PAGE_SIZE
    ) -> str:
        query = urlencode(self.estate_list_query(page_index, since, page_size))
        return f"/Advertising/Estate/{self.customer}?{query}"

    def read_answer(self, endpoint: str, source_id: str, schema: str) -> Any:
        """GET `endpoint` and return its body if it matches the contract's `schema`; raises
        SourceReadError (naming the field of an answer of another shape)."""
        body = self.read_source(endpoint, source_id)
        try:
            return CONTRACT.check(schema, body)
        except ContractViolation as error:
            raise self.unexpected(source_id, error) from None

    def fetch_viewings(self, source_id: str) -> list[ImportedViewing]:
        """The estate's viewings from `GET Viewing/{customerId}/{estateId}`, one call, with
        the participants Vitec lists in each time slot (docs/vitec.md, "Reading viewings")."""
        counted_at = timezone.now()  # a participant added before this is in the answer
        endpoint = f"/Viewing/{self.customer}/{quote(source_id, safe='')}"
        body = self.read_answer(endpoint, source_id, "viewings")
        try:
            viewings = [read_viewing(n, v, counted_at) for n, v in enumerate(body)]
            return check_unique_ids(viewings)
        except SHAPE_ERRORS as error:
            raise self.unexpected(source_id, error) from None

    def import_viewings(self, source_id: str) -> list[ImportedViewing]:
        """The viewings, titled and addressed from the estate (a second read). An estate
        Vitec does not publish has no description: its viewings keep the estate's id."""
        viewings = self.fetch_viewings(source_id)
        if not viewings:
            return viewings
        try:
            estate = self.describe_source(source_id)
        except SourceReadError as error:
            if error.record is None or error.record.status != 404:
                raise
            estate = SourceListing(source_id, source_id)
        for viewing in viewings:
            viewing.title, viewing.address = estate.title, estate.address
        return viewings

    def describe_source(self, estate_id: str) -> SourceListing:
        """The estate's title and address, from `GET Advertising/Estate/{customerId}/{estateId}`."""
        endpoint = f"/Advertising/Estate/{self.customer}/{quote(estate_id, safe='')}"
        return read_estate(self.read_answer(endpoint, estate_id, "estate"), estate_id)

    def estate_rows(self, since: datetime | None = None) -> list[dict]:
        """Every row of the customer's published estates (changed since `since`), page by
        page: from FIRST_PAGE_INDEX on from the index each answer states, until a page
        that is short, empty, adds nothing new or completes `totalRowCount`."""
        rows: dict[str, dict] = {}
        index = FIRST_PAGE_INDEX
        for _ in range(ESTATE_MAX_PAGES):
            page = self.read_answer(self.estates_endpoint(index, since), ESTATE_LIST, "estate-list")
            before = len(rows)
            for n, row in enumerate(page["rows"]):
                rows[checked_id(row["id"], "estate-list", f"rows[{n}].id")] = row
            total = page.get("totalRowCount")
            if (
                len(page["rows"]) < ESTATE_PAGE_SIZE
                or len(rows) == before
                or (total is not None and len(rows) >= total)
            ):
                return list(rows.values())
            index = max(index, page.get("index", index)) + 1
        raise self.unexpected(ESTATE_LIST, ValueError(f"more than {ESTATE_MAX_PAGES} pages"))

    def list_sources(self) -> list[SourceListing]:
        """The customer's published estates with their titles and addresses (a read of each,
        a few at a time), for the import page to pick from. Raises SourceReadError."""
        agency_id = self.credential.agency_id
        reads = [_EstateRead(agency_id, row["id"]) for row in self.estate_rows()]
        described = dict(
            call_each(
                reads,
                lambda read: self.describe_source(read.estate_id),
                concurrency=settings.VIEWING_SYNC_CONCURRENCY_PER_AGENCY,
                per_agency=settings.VIEWING_SYNC_CONCURRENCY_PER_AGENCY,
            )
        )
        for read in reads:
            if isinstance(described[read], Exception):
                raise described[read]
        return [described[read] for read in reads]

    def changed_sources(self, since: datetime | None) -> ChangedSources:
        """The published estates changed since `since` (all: None), by the estate list's
        `ChangedAtMinValue`, and the newest `changedAt` among them."""
        rows = self.estate_rows(since)
        try:
            newest = max((parse_broker_time(row["changedAt"]) for row in rows), default=None)
        except ValueError as error:
            raise self.unexpected(ESTATE_LIST, error) from None
        return ChangedSources(frozenset(row["id"] for row in rows), newest)

    def delivery_request(self, booking: "Booking") -> tuple[str, dict]:
        credential = self.credential
        endpoint = "/Viewing/{}/{}/{}/Participant".format(
            *(
                quote(part, safe="")
                for part in (
                    credential.vitec_customer_id,
                    booking.viewing.provider_viewing_id,
                    booking.slot.provider_slot_id,
                )
            )
        )
        person = {
            "firstName": booking.first_name,
            "lastName": booking.last_name,
            "email": {"emailAddress": booking.email},
            "cellPhone": booking.phone,
        }
        # The consent time intake stored (docs/vitec.md); staff-entered bookings have none.
        if booking.consent_given_at:
            person["gdprApprovalDate"] = booking.consent_given_at.isoformat()
        body = {
            "updatePerson": person,
            "contactMessage": booking.message,
            "reminderTime": credential.vitec_reminder_minutes,
            "smsReminder": credential.vitec_sms_reminder,
            "mailConfirmation": credential.vitec_mail_confirmation,
            "smsConfirmation": credential.vitec_sms_confirmation,
            "returnBookingId": True,
            "options": {
                "isDeadlineValidationEnabled": credential.vitec_deadline_validation,
                "enableBookingLimitValidation": credential.vitec_booking_limit_validation,
            },
        }
        if credential.vitec_lead_source_id:
            body["leadSourceId"] = credential.vitec_lead_source_id
        return endpoint, body

    def reference(self, record: CallRecord) -> str:
        # With returnBookingId the answer is the booking id as a JSON string.
        return record.body if isinstance(record.body, str) else ""

    def field_errors(self, record: CallRecord) -> dict[str, list[str]]:
        # ASP.NET answers "ModelState"/"Message" or, with camel-case JSON, "modelState"/"message".
        body = CaseInsensitiveDict(record.body if isinstance(record.body, dict) else {})
        errors = normalise_errors(body.get("ModelState"))
        if not errors and body.get("Message"):
            errors = {"": [str(body["Message"])]}
        return errors

    def slot_is_full(self, errors: dict[str, list[str]]) -> bool:
        return any(name.lower() == BOOKING_LIMIT_ERROR for name in errors)


def checked_id(value: str, schema: str, field: str) -> str:
    """An id of an answer that is also safe as one URL path segment (ours to require)."""
    try:
        return read_id(value)
    except (ValueError, ValidationError) as error:
        raise ContractViolation(schema, field, describe_shape_error(error)) from None


def read_times(item: dict, path: str) -> tuple[datetime, datetime]:
    starts_at, ends_at = parse_broker_time(item["startsAt"]), parse_broker_time(item["endsAt"])
    if ends_at <= starts_at:
        raise ContractViolation("viewings", f"{path}.endsAt", "ends before it starts")
    return starts_at, ends_at


def read_viewing(index: int, viewing: dict, counted_at: datetime) -> ImportedViewing:
    """One viewing of `GET Viewing/{customerId}/{estateId}`, checked by the contract. A
    viewing without time slots is booked as one slot under its own id (every participant
    is added to a time slot); Vitec lists participants only in time slots."""
    path = f"[{index}]"
    viewing_id = checked_id(viewing["id"], "viewings", f"{path}.id")
    starts_at, ends_at = read_times(viewing, path)
    capacity = viewing.get("participantPerTimeSlot") or None  # 0: no limit (assumed)
    slots = []
    for n, slot in enumerate(viewing.get("timeSlots") or []):
        slot_path = f"{path}.timeSlots[{n}]"
        slot_start, slot_end = read_times(slot, slot_path)
        slots.append(
            ImportedSlot(
                checked_id(slot["id"], "viewings", f"{slot_path}.id"),
                slot_start,
                slot_end,
                capacity=capacity,
                number_booked=len(slot.get("participants") or []),
                counted_at=counted_at,
            )
        )
    if not slots:
        slots.append(ImportedSlot(viewing_id, starts_at, ends_at, capacity=capacity))
    deadline = viewing.get("noLaterThen")
    return ImportedViewing(
        viewing_id=viewing_id,
        viewing_type=Viewing.Type.TIME_SLOTS,
        starts_at=starts_at,
        ends_at=ends_at,
        bookable_from_internet=viewing.get("bookableFromInternet") is True,
        booking_closes_at=parse_broker_time(deadline) if deadline else None,
        slots=slots,
    )


def read_estate(estate: dict, estate_id: str) -> SourceListing:
    """An estate's title ("street, town"; its sales heading when Vitec hides the street
    address; else the town, else its id) and address ("street, zip town")."""
    address = estate.get("address") or {}
    street = (address.get("streetAddress") or "").strip()
    town = (address.get("postalTown") or "").strip()
    zip_code = ((address.get("zipCode") or {}).get("value") or "").strip()
    heading = ((estate.get("sale") or {}).get("heading") or "").strip()
    if street:
        title = ", ".join(part for part in (street, town) if part)
    else:
        title = heading or town or estate_id
    place = " ".join(part for part in (zip_code, town) if part)
    full_address = ", ".join(part for part in (street, place) if part)
    return SourceListing(estate_id, title[:TITLE_LENGTH], full_address[:ADDRESS_LENGTH])
