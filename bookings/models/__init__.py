"""The bookings app's models, one module per aggregate; every name the rest of the code
imports from `bookings.models` is re-exported here. Within the package imports run down,
from bookings to viewings to the statuses (tests/test_app_boundaries.py,
MODEL_MODULES_BOTTOM_UP)."""

from bookings.models.bookings import (
    BOOKING_CLOSED,
    DUPLICATE_BOOKING,
    DUPLICATE_BOOKING_ERROR,
    Booking,
    DeliveryAttempt,
    LawfulBasis,
    Outcome,
    unbookable_changes,
)
from bookings.models.intake import (
    UNKNOWN_REQUEST,
    IdempotentRequest,
    idempotency_key_digest,
    request_digest,
)
from bookings.models.monitoring import Heartbeat
from bookings.models.privacy import DataRequest
from bookings.models.quarantine import QuarantineDecision
from bookings.models.status import BookingStatus
from bookings.models.viewing_import import ChangedSourcesMark, WebhookEvent
from bookings.models.viewings import Viewing, ViewingChange, ViewingSlot

__all__ = [
    "BOOKING_CLOSED",
    "DUPLICATE_BOOKING",
    "DUPLICATE_BOOKING_ERROR",
    "UNKNOWN_REQUEST",
    "Booking",
    "BookingStatus",
    "ChangedSourcesMark",
    "DataRequest",
    "DeliveryAttempt",
    "Heartbeat",
    "IdempotentRequest",
    "LawfulBasis",
    "Outcome",
    "QuarantineDecision",
    "Viewing",
    "ViewingChange",
    "ViewingSlot",
    "WebhookEvent",
    "idempotency_key_digest",
    "request_digest",
    "unbookable_changes",
]
