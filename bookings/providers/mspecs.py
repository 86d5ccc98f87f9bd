"""MSPECS External viewing API (shared/seeds/mspecs-external-viewing-api.md)."""

from dataclasses import dataclass
from urllib.parse import quote

from bookings.providers.base import BrokerClient, CallRecord


@dataclass(frozen=True)
class SlotStatus:
    number_booked: int
    fully_booked: bool


class SlotStatusError(Exception):
    def __init__(self, record: CallRecord, message: str):
        super().__init__(message)
        self.record = record


class MspecsClient(BrokerClient):
    def slot_status(self, deal_id: str) -> dict[str, SlotStatus]:
        """Booked count and fullness of every slot of a deal, in one call."""
        record = self.call("GET", f"/v3/viewings/slot/status/{quote(deal_id, safe='')}")
        if record.status != 200:
            reason = f"HTTP {record.status}" if record.status else type(record.error).__name__
            raise SlotStatusError(record, f"Slot status for deal {deal_id} failed: {reason}")
        if not isinstance(record.body, dict):
            raise SlotStatusError(record, f"Slot status for deal {deal_id}: unexpected body")
        try:
            return {
                slot_id: SlotStatus(int(s["numberOfBooked"]), bool(s["fullyBooked"]))
                for slot_id, s in record.body.items()
            }
        except (KeyError, TypeError, ValueError):
            raise SlotStatusError(
                record, f"Slot status for deal {deal_id}: unexpected body"
            ) from None
