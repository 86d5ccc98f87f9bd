"""Vitec Express Connect API: add a viewing participant, read an estate's viewings and
list the estates (docs/vitec.md)."""

from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from requests.structures import CaseInsensitiveDict

from bookings.models import Viewing
from bookings.providers.base import (
    SHAPE_ERRORS,
    CallRecord,
    ImportedSlot,
    ImportedViewing,
    ProviderClient,
    SourceListing,
    check_unique_ids,
    normalise_errors,
    optional_count,
    parse_broker_time,
    read_id,
)

if TYPE_CHECKING:
    from bookings.models import Booking

# Estates per page of `GET Advertising/Estate/{customerId}` (assumed, docs/vitec.md), and
# the most pages the estate picker reads.
ESTATE_PAGE_SIZE = 100
ESTATE_MAX_PAGES = 20


# The ModelState key Vitec uses when booking-limit validation finds the slot full (in
# whatever case the API answers it).
BOOKING_LIMIT_ERROR = "bookinglimit"


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
        return self.estates_endpoint(page=1, page_size=1)

    def estates_endpoint(self, page: int, page_size: int = ESTATE_PAGE_SIZE) -> str:
        query = urlencode({"page": page, "pageSize": page_size})
        return f"/Advertising/Estate/{self.customer}?{query}"

    def fetch_viewings(self, source_id: str) -> list[ImportedViewing]:
        """The estate's viewings from `GET Viewing/{customerId}/{estateId}`, one call
        (docs/vitec.md, "Reading viewings")."""
        body = self.read_source(f"/Viewing/{self.customer}/{quote(source_id, safe='')}", source_id)
        try:
            if not isinstance(body, list):
                raise ValueError("not a list of viewings")
            return check_unique_ids([read_viewing(CaseInsensitiveDict(v)) for v in body])
        except SHAPE_ERRORS as error:
            raise self.unexpected(source_id, error) from None

    def list_sources(self) -> list[SourceListing]:
        """The customer's estates, page by page (assumed paging, docs/vitec.md), for the
        import page to pick from. Raises SourceReadError."""
        estates: list[SourceListing] = []
        for page in range(1, ESTATE_MAX_PAGES + 1):
            body = self.read_source(self.estates_endpoint(page), "Advertising/Estate")
            try:
                body = CaseInsensitiveDict(body)
                items = body["Estates"]
                total = optional_count(body.get("TotalCount"))
                estates += [read_estate(CaseInsensitiveDict(item)) for item in items]
            except SHAPE_ERRORS as error:
                raise self.unexpected("Advertising/Estate", error) from None
            if not items or len(items) < ESTATE_PAGE_SIZE or (total and len(estates) >= total):
                break
        return estates

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


def read_estate(item: CaseInsensitiveDict) -> SourceListing:
    """Assumed (docs/vitec.md): an estate has `Id`, `StreetAddress` and `City`."""
    street = str(item.get("StreetAddress") or "").strip()
    city = str(item.get("City") or "").strip()
    estate_id = read_id(item["Id"])
    return SourceListing(estate_id, ", ".join(p for p in (street, city) if p) or estate_id)


def read_viewing(viewing: CaseInsensitiveDict) -> ImportedViewing:
    """One viewing of `GET Viewing/{customerId}/{estateId}`. Assumed (docs/vitec.md): each
    of `TimeSlots` is `{Id, StartsAt, EndsAt}`; a viewing without time slots is one slot
    under the viewing's own id (every Vitec participant is added to a time slot)."""
    viewing_id = read_id(viewing["Id"])
    starts_at = parse_broker_time(viewing["StartsAt"])
    ends_at = parse_broker_time(viewing["EndsAt"])
    if ends_at <= starts_at:
        raise ValueError("a viewing ends before it starts")
    capacity = optional_count(viewing.get("ParticipantPerTimeSlot")) or None  # 0: no limit
    slots = []
    for slot in viewing.get("TimeSlots") or []:
        slot = CaseInsensitiveDict(slot)
        slot_start, slot_end = (parse_broker_time(slot[k]) for k in ("StartsAt", "EndsAt"))
        if slot_end <= slot_start:
            raise ValueError("a time slot ends before it starts")
        slots.append(ImportedSlot(read_id(slot["Id"]), slot_start, slot_end, capacity=capacity))
    if not slots:
        slots.append(ImportedSlot(viewing_id, starts_at, ends_at, capacity=capacity))
    deadline = viewing.get("NoLaterThen")
    return ImportedViewing(
        viewing_id=viewing_id,
        viewing_type=Viewing.Type.TIME_SLOTS,
        starts_at=starts_at,
        ends_at=ends_at,
        bookable_from_internet=viewing.get("BookableFromInternet") is True,
        booking_closes_at=parse_broker_time(deadline) if deadline else None,
        slots=slots,
    )
