"""MSPECS's clients, one per public API (docs/mspecs.md, "Two APIs"): MspecsClient speaks
the provider API, ExternalViewingClient the External viewing API with the MSPX API. Every
answer they read is checked against MSPECS's contract (`contract/`) first."""

from dataclasses import dataclass
from urllib.parse import quote

from agencies.models import MspecsApi, ProviderCredential
from agencies.problems import Problem
from bookings.models import Booking, Viewing
from bookings.problems import delivery as problems
from bookings.problems import viewing_import as import_problems
from bookings.providers.base import (
    SHAPE_ERRORS,
    CallRecord,
    ImportedViewing,
    ProviderClient,
    SourceListing,
    SourceReadError,
    SourceWithdrawn,
    check_unique_ids,
    parse_broker_time,
    read_id,
)
from bookings.providers.mspecs.mspx import MspxReads
from bookings.providers.mspecs.schemas import CONTRACT
from bookings.providers.mspecs.viewings import BOOKABLE_TYPES, read_viewing

# publishingInformation.saleStatus of a sold deal: MSPECS answers it without viewings.
SOLD = "ENUMS_SALE_STATUS_SOLD"
# The subscriber's published deals, all in one answer (docs/mspecs.md, "Published deals").
PUBLISHED_DEALS_ENDPOINT = "/api/marketing/deals"


@dataclass(frozen=True)
class SlotStatus:
    number_booked: int
    fully_booked: bool


class SlotStatusError(Exception):
    def __init__(self, record: CallRecord, problem: Problem):
        super().__init__(str(problem))
        self.record = record
        self.problem = problem

    @property
    def retry_after(self) -> float | None:
        """For bookings/fanout.py: seconds to wait when MSPECS was busy."""
        return self.record.back_off


class MspecsClient(ProviderClient):
    # MSPECS identifies a prospective buyer by email and merges repeat posts into one
    # quarantine entry, so a repeat cannot create a second buyer; but it emails the buyer a
    # confirmation on every post (docs/mspecs.md), so a lost answer is repeated twice at most.
    lost_answer_repeats = 2
    booking_fields = {
        "firstName": "first_name",
        "lastName": "last_name",
        "email": "email",
        "phoneNumber": "phone",
    }

    @classmethod
    def for_credential(cls, credential: ProviderCredential) -> "MspecsClient":
        """The client of the API the credential speaks."""
        if credential.mspecs_api == MspecsApi.EXTERNAL_VIEWING:
            return ExternalViewingClient(credential)
        return MspecsClient(credential)

    @classmethod
    def credential_headers(cls, credential: ProviderCredential) -> dict[str, str]:
        # The agency as MSPECS's subscriber, on every call (docs/mspecs.md).
        if credential.mspecs_subscriber_id:
            return {"subscriber-id": credential.mspecs_subscriber_id}
        return {}

    @property
    def connection_check_endpoint(self) -> str:
        # The slot status of one of the agency's own deals: its 200 proves the login was
        # checked. Without a deal, a made-up one answers 404, which proves nothing.
        deal_id = (
            Viewing.objects.filter(agency=self.credential.agency_id)
            .exclude(mspecs_deal_id="")
            .order_by("-starts_at")
            .values_list("mspecs_deal_id", flat=True)
            .first()
        )
        return self.slot_status_endpoint(deal_id or "viewing-bridge-connection-check")

    @staticmethod
    def slot_status_endpoint(deal_id: str) -> str:
        return f"/v3/viewings/slot/status/{quote(deal_id, safe='')}"

    @staticmethod
    def deal_endpoint(deal_id: str) -> str:
        return f"/api/marketing/deals/{quote(deal_id, safe='')}"

    def delivery_request(self, booking: Booking) -> tuple[str, dict]:
        # The provider API's route is deal-scoped; a viewing entered by hand without its
        # deal goes to the External viewing API's route, as before (docs/mspecs.md).
        deal_id = booking.viewing.mspecs_deal_id
        prefix = self.deal_endpoint(deal_id) if deal_id else "/v3/viewings"
        return f"{prefix}/{external_viewer_path(booking)}", external_viewer_body(booking)

    def reference(self, record: CallRecord) -> str:
        # MSPECS documents no response body (docs/mspecs.md); keep an id if one comes back.
        if isinstance(record.body, dict):
            return str(record.body.get("id") or "")
        return ""

    def answer_message(self, record: CallRecord) -> str:
        # A BadRequestError's text: {"message": ...} or [{"message": ...}, ...], as MSPECS's
        # own client reads it (docs/mspecs.md, "Errors").
        if CONTRACT.violations("bad_request_error", record.body):
            return ""
        body = record.body[0] if isinstance(record.body, list) else record.body
        return body["message"].strip()[:500]

    def slot_status(self, deal_id: str) -> dict[str, SlotStatus]:
        """Booked count and fullness of every slot of a deal, in one call."""
        record = self.call("GET", self.slot_status_endpoint(deal_id))
        if record.status != 200:
            raise SlotStatusError(
                record, problems.POLL_FAILED(deal=deal_id, answer=self.describe(record))
            )
        if CONTRACT.violations("slot_status", record.body):
            raise SlotStatusError(record, problems.POLL_UNEXPECTED_BODY(deal=deal_id))
        return {
            slot_id: SlotStatus(status["numberOfBooked"], status["fullyBooked"])
            for slot_id, status in record.body.items()
        }

    def list_sources(self) -> list[SourceListing]:
        """The subscriber's published deals, titled with their addresses, from one
        `GET /api/marketing/deals` (documented without paging). Raises SourceReadError."""
        source = PUBLISHED_DEALS_ENDPOINT.lstrip("/")
        body = self.read_source(PUBLISHED_DEALS_ENDPOINT, source)
        try:
            deals = CONTRACT.check("published_deals", body)
            listed = {}
            for deal in deals:
                listed.setdefault(read_id(deal["id"]), published_deal_title(deal))
        except SHAPE_ERRORS as error:
            raise self.unexpected(source, error) from None
        return [SourceListing(deal_id, title) for deal_id, title in listed.items()]

    def fetch_viewings(self, source_id: str) -> list[ImportedViewing]:
        """The deal's bookable viewings from `GET /api/marketing/deals/{dealId}`, one call
        (docs/mspecs.md, "Deals and their viewings"). A deal MSPECS no longer publishes
        (404) or reports sold raises SourceWithdrawn."""
        try:
            deal = self.read_source(self.deal_endpoint(source_id), source_id)
        except SourceReadError as error:
            if error.record is not None and error.record.status == 404:
                problem = import_problems.SOURCE_UNPUBLISHED(source=source_id)
                raise SourceWithdrawn(problem, error.record) from None
            raise
        try:
            CONTRACT.check("deal", deal)
            if deal["publishingInformation"].get("saleStatus") == SOLD:
                raise SourceWithdrawn(import_problems.SOURCE_SOLD(source=source_id))
            title, address = deal_title_and_address(deal)
            return check_unique_ids(
                [
                    read_viewing(viewing, title, address, parse_broker_time)
                    for viewing in deal.get("viewings", [])
                    if viewing["type"] in BOOKABLE_TYPES
                ]
            )
        except SHAPE_ERRORS as error:  # a ContractViolation names the field
            raise self.unexpected(source_id, error) from None


class ExternalViewingClient(MspxReads, MspecsClient):
    """The External viewing API (buyers posted to its `v3` routes, slot status) with the
    MSPX API for reading deals' viewings and slots (bookings/providers/mspecs/mspx.py)."""

    def delivery_request(self, booking: Booking) -> tuple[str, dict]:
        return f"/v3/viewings/{external_viewer_path(booking)}", external_viewer_body(booking)


def external_viewer_path(booking: Booking) -> str:
    """`externalViewer/{viewingId}[/slot/{slotId}]`: where both APIs' routes end."""
    viewing = booking.viewing
    path = f"externalViewer/{quote(viewing.provider_viewing_id, safe='')}"
    if viewing.viewing_type == Viewing.Type.TIME_SLOTS:
        path += f"/slot/{quote(booking.slot.provider_slot_id, safe='')}"
    return path


def external_viewer_body(booking: Booking) -> dict:
    """The prospective buyer, as both APIs take them (contract/external_viewer.schema.json)."""
    return {
        "firstName": booking.first_name,
        "lastName": booking.last_name,
        "email": booking.email,
        "phoneNumber": booking.phone,
    }


def deal_title_and_address(deal: dict) -> tuple[str, str]:
    """The deal's `location`: titled by its street address (by its id without one), the
    address written "street, postcode city"."""
    location = deal.get("location", {})
    street = location.get("streetAddress", "").strip()
    place = " ".join(location.get(k, "").strip() for k in ("postalCode", "city")).strip()
    full_address = ", ".join(part for part in (street, place) if part)
    return street or f"Deal {deal['id']}", full_address


def published_deal_title(deal: dict) -> str:
    """How staff pick a deal from the published list: its name (when it is more than the
    street), its address and MSPECS's short id, e.g. "Råsundavägen 4, 169 67 Solna
    (DF4 HG9)"; a deal without any of them by its id."""
    location = deal.get("location") or {}
    street = (location.get("streetAddress") or "").strip()
    place = " ".join(
        part for part in ((location.get(k) or "").strip() for k in ("postalCode", "city")) if part
    )
    address = ", ".join(part for part in (street, place) if part)
    name = (deal.get("displayName") or "").strip()
    title = " – ".join(part for part in (name if name != street else "", address) if part)
    short_id = (deal.get("shortId") or "").strip()
    if short_id:
        title = f"{title} ({short_id})" if title else short_id
    return title or deal["id"]
