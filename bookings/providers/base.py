"""What every broker-system client shares: one HTTP session per credential, timeouts,
auth, and a record of each call that delivery and polling can store as they need."""

import threading
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import requests
from django.conf import settings
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import NewConnectionError

from agencies.models import ProviderCredential

if TYPE_CHECKING:
    from bookings.models import Booking

USER_AGENT = "ViewingBridge/1.0 (+https://viewingbridge.se)"

_in_flight_lock = threading.Lock()
_in_flight: dict[int, threading.BoundedSemaphore] = {}


def delivery_calls_in_flight() -> threading.BoundedSemaphore:
    """The process-wide bound on delivery calls waiting for a broker system at once
    (DELIVERY_CONCURRENCY). Worker threads beyond it do their database work meanwhile."""
    size = settings.DELIVERY_CONCURRENCY
    with _in_flight_lock:
        if size not in _in_flight:
            _in_flight[size] = threading.BoundedSemaphore(size)
        return _in_flight[size]


@dataclass
class CallRecord:
    """One HTTP call: what was asked, what came back, how long it took."""

    method: str
    endpoint: str  # path relative to the credential's base URL, never with secrets
    status: int | None = None  # None when no response arrived
    body: Any = None  # parsed JSON, or the text when it was not JSON
    text: str = ""
    headers: CaseInsensitiveDict = field(default_factory=CaseInsensitiveDict)
    duration_ms: int = 0
    error: requests.RequestException | None = None

    @property
    def timed_out_reading(self) -> bool:
        """The request was sent but no answer came in time: it may have taken effect."""
        return isinstance(self.error, requests.ReadTimeout)

    @property
    def never_sent(self) -> bool:
        """No connection was made, so the broker system cannot have seen the request.
        Any other failure (dropped mid-request, a broken answer) may have taken effect."""
        if isinstance(self.error, requests.ConnectTimeout):
            return True
        if isinstance(self.error, requests.ConnectionError) and self.error.args:
            return isinstance(getattr(self.error.args[0], "reason", None), NewConnectionError)
        return False

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked us to wait (Retry-After: seconds or an HTTP date)."""
        value = self.headers.get("Retry-After", "").strip()
        if not value:
            return None
        if value.isdigit():
            return float(value)
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None

    def describe(self) -> str:
        if self.status is not None:
            return f"HTTP {self.status}"
        if self.timed_out_reading:
            return "no answer in time (read timeout)"
        return f"connection failed ({type(self.error).__name__})"


def normalise_errors(errors: Any) -> dict[str, list[str]]:
    """Field errors as {field: [messages]}, whatever shape the broker system used."""
    if not isinstance(errors, dict):
        return {}
    return {
        str(name): [str(m) for m in messages] if isinstance(messages, list) else [str(messages)]
        for name, messages in errors.items()
    }


class Outcome(StrEnum):
    """What a delivery call means for the booking, whatever the broker system."""

    DELIVERED = "delivered"
    REJECTED = "rejected"  # the broker system refused the data: staff must act
    AUTH_FAILED = "auth_failed"  # 401/403: the credential is wrong, not the booking
    RETRY = "retry"  # 429, 5xx, no connection: try again later
    NEEDS_REVIEW = "needs_review"  # it may have landed: do not post it again blindly


@dataclass
class DeliveryResult:
    outcome: Outcome
    record: CallRecord
    message: str = ""  # in plain words, for staff
    reference: str = ""  # the broker system's id for what was created
    field_errors: dict[str, list[str]] = field(default_factory=dict)
    slot_fully_booked: bool = False


@dataclass
class ConnectionCheck:
    ok: bool | None  # None: inconclusive (broker system down), credential status unchanged
    message: str
    record: CallRecord


class BrokerClient:
    """Base for one client class per broker system (see mspecs.py, vitec.py).

    A subclass says where and what to post for a booking (`delivery_request`), how to
    read the broker's answer (`reference`, `field_errors`), and which harmless
    authenticated GET proves a credential (`connection_check_endpoint`); turning an
    answer into an Outcome is shared here so both systems follow the same table.
    """

    # May a booking be posted again when we cannot tell whether the last post landed?
    resend_is_safe = False
    connection_check_endpoint = "/"

    def __init__(self, credential: ProviderCredential, session: requests.Session | None = None):
        self.credential = credential
        self.base_url = credential.base_url.rstrip("/")
        self.session = session or self.new_session(credential)

    @staticmethod
    def new_session(
        credential: ProviderCredential, pool_size: int | None = None
    ) -> requests.Session:
        session = requests.Session()
        # A pooled connection for every call this session may have in flight (by default,
        # every delivery call this process may have in flight).
        adapter = requests.adapters.HTTPAdapter(
            pool_maxsize=pool_size
            or max(requests.adapters.DEFAULT_POOLSIZE, settings.DELIVERY_CONCURRENCY)
        )
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.auth = (credential.username, credential.secret)
        session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        return session

    @property
    def timeout(self) -> tuple[float, float]:
        return (settings.BROKER_CONNECT_TIMEOUT, settings.BROKER_READ_TIMEOUT)

    def call(
        self,
        method: str,
        endpoint: str,
        json: Any = None,
        in_flight: AbstractContextManager | None = None,
    ) -> CallRecord:
        """Send one request; `in_flight` is held only while it is on its way to the broker
        system and back (building it and reading the answer happen outside)."""
        record = CallRecord(method=method, endpoint=endpoint)
        session = self.session
        try:
            # What session.request() does, split so that only the exchange is bounded.
            request = session.prepare_request(
                requests.Request(method, self.base_url + endpoint, json=json)
            )
            options = session.merge_environment_settings(request.url, {}, None, None, None)
            with in_flight or nullcontext():
                started = time.monotonic()
                try:
                    # A redirect would turn the POST into a GET somewhere else.
                    response = session.send(
                        request, timeout=self.timeout, allow_redirects=False, **options
                    )
                finally:
                    record.duration_ms = round((time.monotonic() - started) * 1000)
        except requests.RequestException as error:
            record.error = error
        else:
            record.status = response.status_code
            record.text = response.text
            record.headers = response.headers
            try:
                record.body = response.json()
            except ValueError:
                record.body = response.text
        return record

    # --- what each broker system fills in ----------------------------------------------

    def delivery_request(self, booking: "Booking") -> tuple[str, dict]:
        """The endpoint (relative to the base URL) and JSON body that deliver a booking."""
        raise NotImplementedError

    def reference(self, record: CallRecord) -> str:
        return ""

    def field_errors(self, record: CallRecord) -> dict[str, list[str]]:
        return {}

    def slot_is_full(self, errors: dict[str, list[str]]) -> bool:
        return False

    # --- shared ------------------------------------------------------------------------

    def deliver(
        self, booking: "Booking", in_flight: AbstractContextManager | None = None
    ) -> DeliveryResult:
        """Post the booking; `in_flight` (default: a delivery call slot) is entered right
        before the request goes out."""
        endpoint, body = self.delivery_request(booking)
        record = self.call(
            "POST", endpoint, json=body, in_flight=in_flight or delivery_calls_in_flight()
        )
        return self.classify(record)

    def classify(self, record: CallRecord) -> DeliveryResult:
        status = record.status
        if status is None:
            if not (record.never_sent or self.resend_is_safe):
                return DeliveryResult(
                    Outcome.NEEDS_REVIEW,
                    record,
                    f"No answer ({record.describe()}); the broker system may have saved the "
                    "booking. Check it there, then re-send or mark it delivered.",
                )
            return DeliveryResult(
                Outcome.RETRY, record, f"Broker system unreachable: {record.describe()}."
            )
        if 200 <= status < 300:
            return DeliveryResult(Outcome.DELIVERED, record, reference=self.reference(record))
        if status in (401, 403):
            return DeliveryResult(
                Outcome.AUTH_FAILED,
                record,
                f"The broker system refused the agency's credential (HTTP {status}).",
            )
        if 300 <= status < 400:
            return DeliveryResult(
                Outcome.REJECTED,
                record,
                f"The broker system's address redirects (HTTP {status} to "
                f"{record.headers.get('Location', '?')}); correct the base URL in the "
                "credential, then re-send.",
            )
        if status in (408, 429) or status >= 500:
            return DeliveryResult(
                Outcome.RETRY, record, f"Broker system busy or failing (HTTP {status})."
            )
        if status == 404:
            return DeliveryResult(
                Outcome.REJECTED,
                record,
                "The viewing or slot no longer exists in the broker system (HTTP 404). "
                "Move the booking to another viewing or slot, or cancel it.",
            )
        errors = self.field_errors(record)
        full = self.slot_is_full(errors)
        if full:
            message = "The slot is fully booked in the broker system."
        elif errors:
            message = "The broker system rejected the data: " + "; ".join(
                f"{name}: {' '.join(texts)}" for name, texts in errors.items()
            )
        else:
            message = f"The broker system rejected the booking (HTTP {status})."
        return DeliveryResult(
            Outcome.REJECTED, record, message, field_errors=errors, slot_fully_booked=full
        )

    def check_connection(self) -> ConnectionCheck:
        """A harmless authenticated GET: 401/403 means the credential is refused; any
        other answer from the application (even 404) means it was accepted."""
        record = self.call("GET", self.connection_check_endpoint)
        if record.status in (401, 403):
            return ConnectionCheck(
                False, f"Refused: the broker system answered HTTP {record.status}.", record
            )
        if record.status is None or record.status == 429 or record.status >= 500:
            return ConnectionCheck(
                None, f"Inconclusive: {record.describe()}; try again later.", record
            )
        return ConnectionCheck(
            True, "Connected: the broker system accepted the credential.", record
        )
