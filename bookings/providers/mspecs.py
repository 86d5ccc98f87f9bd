"""MSPECS External viewing API (docs/mspecs.md)."""

from dataclasses import dataclass
from urllib.parse import quote

from agencies.problems import Problem
from bookings.delivery import problems
from bookings.models import Booking, Viewing
from bookings.providers.base import CallRecord, ProviderClient, normalise_errors


@dataclass(frozen=True)
class SlotStatus:
    number_booked: int
    fully_booked: bool


class SlotStatusError(Exception):
    def __init__(self, record: CallRecord, problem: Problem):
        super().__init__(str(problem))
        self.record = record
        self.problem = problem


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

    def delivery_request(self, booking: Booking) -> tuple[str, dict]:
        viewing = booking.viewing
        endpoint = f"/v3/viewings/externalViewer/{quote(viewing.provider_viewing_id, safe='')}"
        if viewing.viewing_type == Viewing.Type.TIME_SLOTS:
            endpoint += f"/slot/{quote(booking.slot.provider_slot_id, safe='')}"
        body = {
            "firstName": booking.first_name,
            "lastName": booking.last_name,
            "email": booking.email,
            "phoneNumber": booking.phone,
        }
        return endpoint, body

    def reference(self, record: CallRecord) -> str:
        # MSPECS documents no response body (docs/mspecs.md); keep an id if one comes back.
        if isinstance(record.body, dict):
            return str(record.body.get("id") or "")
        return ""

    def field_errors(self, record: CallRecord) -> dict[str, list[str]]:
        errors = record.body.get("errors") if isinstance(record.body, dict) else None
        return normalise_errors(errors)

    def slot_status(self, deal_id: str) -> dict[str, SlotStatus]:
        """Booked count and fullness of every slot of a deal, in one call."""
        record = self.call("GET", self.slot_status_endpoint(deal_id))
        if record.status != 200:
            raise SlotStatusError(
                record, problems.POLL_FAILED(deal=deal_id, answer=record.describe())
            )
        if not isinstance(record.body, dict):
            raise SlotStatusError(record, problems.POLL_UNEXPECTED_BODY(deal=deal_id))
        try:
            return {
                slot_id: SlotStatus(int(s["numberOfBooked"]), bool(s["fullyBooked"]))
                for slot_id, s in record.body.items()
            }
        except (KeyError, TypeError, ValueError):
            raise SlotStatusError(record, problems.POLL_UNEXPECTED_BODY(deal=deal_id)) from None
