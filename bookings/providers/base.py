"""What every provider client shares: one HTTP session per credential, timeouts,
auth, and a record of each call that delivery and polling can store as they need."""

import ipaddress
import logging
import socket
import threading
import time
import zoneinfo
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import ngettext
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import NewConnectionError

from agencies import problems as credential_problems
from agencies.models import (
    AuthScheme,
    ProviderCredential,
    operator_allowed_hosts,
    validate_provider_url,
)
from agencies.problems import Problem
from agencies.validators import validate_provider_id
from bookings.delivery.redaction import redact_answer
from bookings.models import Outcome
from bookings.problems import delivery as problems
from bookings.problems import viewing_import as import_problems
from bookings.providers.contracts import Contract

if TYPE_CHECKING:
    from bookings.models import Booking

USER_AGENT = "ViewingBridge/1.0 (+https://viewingbridge.se)"

logger = logging.getLogger(__name__)

_in_flight_lock = threading.Lock()
_in_flight: dict[int, threading.BoundedSemaphore] = {}


def delivery_calls_in_flight() -> threading.BoundedSemaphore:
    """The process-wide bound on delivery calls waiting for a provider at once
    (DELIVERY_CONCURRENCY). Worker threads beyond it do their database work meanwhile."""
    size = settings.DELIVERY_CONCURRENCY
    with _in_flight_lock:
        if size not in _in_flight:
            _in_flight[size] = threading.BoundedSemaphore(size)
        return _in_flight[size]


# Per account (a credential at its provider's address), until when (time.time()) the
# provider asked for a pause: noted by the thread that got the answer before it lets its
# call slot go, so that no call of the same account waiting for a slot in this process goes
# out meanwhile (bookings/delivery/circuit.py keeps the pause for every process).
_paused_until: dict[tuple[int, str], float] = {}


def pause_calls(credential: ProviderCredential, seconds: float) -> None:
    key, until = (credential.pk, credential.base_url), time.time() + seconds
    with _in_flight_lock:
        _paused_until[key] = max(until, _paused_until.get(key, 0.0))


def calls_paused_until(credential: ProviderCredential) -> float | None:
    """Until when (time.time()) this process knows the credential's calls must wait."""
    until = _paused_until.get((credential.pk, credential.base_url))
    return until if until is not None and until > time.time() else None


class ProviderAddressRefused(requests.RequestException):
    """Not sent: the URL breaks the base-URL rules, or its host resolves to an address
    inside a network (private, loopback, link-local...) and the operator did not allow it."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


def internal_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])  # an IPv6 scope (%eth0) is no part of it
    ip = getattr(ip, "ipv4_mapped", None) or ip
    # Not global: private, loopback, link-local, unspecified and shared (100.64/10) space.
    return not ip.is_global or ip.is_multicast or ip.is_reserved


def url_without_userinfo(url: str) -> str:
    """The URL as it may be recorded and shown: a user name and password in it (refused,
    but perhaps stored before the rule) are left out."""
    scheme, separator, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    return f"{scheme}{separator}{authority.rpartition('@')[2]}{slash}{path}"


def check_provider_address(url: str, provider: str, mspecs_api: str = "") -> None:
    """Raise ProviderAddressRefused unless `url` may be called. Every address the host
    resolves to is checked, so a name answering one public and one internal address is
    refused too. (The connection resolves the name again: a rebinding DNS server could
    still switch addresses in between; the host allow-list is the main defence.)"""
    try:
        validate_provider_url(url, provider, mspecs_api)
    except ValidationError as error:
        raise ProviderAddressRefused(
            problems.ADDRESS_NOT_ALLOWED(
                url=url_without_userinfo(url), reason=" ".join(error.messages)
            )
        ) from None
    parts = urlsplit(url)
    if parts.hostname in operator_allowed_hosts():
        return
    default_port = 443 if parts.scheme == "https" else 80
    try:
        addresses = socket.getaddrinfo(parts.hostname, parts.port or default_port)
    except OSError:
        return  # the connection fails the same way, before anything is sent
    for *_, socket_address in addresses:
        address = socket_address[0]
        if internal_address(address):
            raise ProviderAddressRefused(
                problems.ADDRESS_INSIDE_NETWORK(
                    url=url_without_userinfo(url), host=parts.hostname, address=address
                )
            )


class CheckedAddressAdapter(requests.adapters.HTTPAdapter):
    """Checks every request's address (check_provider_address) before it is sent."""

    def __init__(self, provider: str, mspecs_api: str = "", **kwargs):
        self.provider = provider
        self.mspecs_api = mspecs_api
        super().__init__(**kwargs)

    def send(self, request, *args, **kwargs):
        # The base URL may have no query; a read under it may (e.g. Vitec's paged estates).
        check_provider_address(request.url.partition("?")[0], self.provider, self.mspecs_api)
        return super().send(request, *args, **kwargs)


@dataclass
class CallRecord:
    """One HTTP call: what was asked, what came back, how long it took."""

    method: str
    endpoint: str  # path relative to the credential's base URL, never with secrets
    url: str = ""  # the full URL called
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
    def address_refused(self) -> bool:
        return isinstance(self.error, ProviderAddressRefused)

    @property
    def never_sent(self) -> bool:
        """No connection was made, so the provider cannot have seen the request.
        Any other failure (dropped mid-request, a broken answer) may have taken effect."""
        if self.address_refused or isinstance(self.error, requests.ConnectTimeout):
            return True
        if isinstance(self.error, requests.ConnectionError) and self.error.args:
            return isinstance(getattr(self.error.args[0], "reason", None), NewConnectionError)
        return False

    @property
    def broker_failing(self) -> bool:
        """The provider failed to deal with the call (5xx, 408, 429, a timeout, no
        connection): what the circuit breaker counts (bookings/delivery/circuit.py). An
        address we refused to call says nothing about the provider."""
        if self.status is None:
            return not self.address_refused
        return self.status in (408, 429) or self.status >= 500

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

    @property
    def back_off(self) -> float | None:
        """Seconds to wait before calling again when the provider said it is busy
        (429, honouring its Retry-After); None otherwise."""
        return (self.retry_after or 1.0) if self.status == 429 else None

    def describe(self) -> Problem:
        if self.status is not None:
            return problems.HTTP_STATUS(status=self.status)
        if self.timed_out_reading:
            return problems.READ_TIMEOUT()
        if self.address_refused:
            return self.error.problem
        return problems.CONNECTION_FAILED(error=type(self.error).__name__)


def normalise_errors(errors: Any) -> dict[str, list[str]]:
    """Field errors as {field: [messages]}, whatever shape the provider used."""
    if not isinstance(errors, dict):
        return {}
    return {
        str(name): [str(m) for m in messages] if isinstance(messages, list) else [str(messages)]
        for name, messages in errors.items()
    }


@dataclass
class DeliveryResult:
    outcome: Outcome
    record: CallRecord
    problem: Problem | None = None  # for staff
    reference: str = ""  # the provider's id for what was created
    field_errors: dict[str, list[str]] = field(default_factory=dict)
    slot_fully_booked: bool = False


@dataclass
class ConnectionCheck:
    ok: bool | None  # None: inconclusive (provider down), credential status unchanged
    problem: Problem
    record: CallRecord
    resumed: int = 0  # held bookings queued again because the credential works

    @property
    def message(self) -> str:
        """For staff, in the active language."""
        text = str(self.problem)
        if self.resumed:
            text += " " + ngettext(
                "%(count)d held booking queued again.",
                "%(count)d held bookings queued again.",
                self.resumed,
            ) % {"count": self.resumed}
        return text


class BearerAuth(requests.auth.AuthBase):
    """`Authorization: Bearer <access token>` (MSPECS's access tokens, docs/mspecs.md)."""

    def __init__(self, token: str):
        self.token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


# Providers are Swedish: a time written without an offset is Swedish local time
# (assumed, docs/mspecs.md and docs/vitec.md).
BROKER_TIME_ZONE = zoneinfo.ZoneInfo("Europe/Stockholm")


def parse_broker_time(value: Any) -> datetime:
    """An ISO 8601 time from an answer as an aware datetime (Europe/Stockholm when the
    answer gives no offset). Raises ValueError for anything else."""
    if not isinstance(value, str):
        raise ValueError("not a time")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BROKER_TIME_ZONE)
    return moment


# What reading an answer of an unexpected shape raises.
SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, ValidationError)


def describe_shape_error(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"{error.args[0]} missing"
    if isinstance(error, ValidationError):
        return "an id that is not a broker id"
    return str(error)[:200]


def read_id(value: Any) -> str:
    """An id from an answer, as text that is safe as one URL path segment."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("an id is neither text nor a number")
    text = str(value)
    if not text or len(text) > 200:
        raise ValueError("an id is empty or too long")
    validate_provider_id(text)
    return text


def optional_count(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("a count is not a whole number")
    return value


@dataclass
class ImportedSlot:
    """One time slot as a provider describes it."""

    slot_id: str
    starts_at: datetime
    ends_at: datetime
    capacity: int | None = None  # buyers the slot takes
    free_spots: int | None = None  # places left, when the provider says
    # Buyers the provider lists in the slot (ours once delivered), when it says, as
    # read at `counted_at` (ViewingSlot.places_left).
    number_booked: int | None = None
    counted_at: datetime | None = None


@dataclass
class ImportedViewing:
    """One viewing as a provider describes it: what import and sync need, the same
    for every system (`ProviderClient.fetch_viewings`)."""

    viewing_id: str
    viewing_type: str  # a Viewing.Type
    starts_at: datetime
    ends_at: datetime
    bookable_from_internet: bool
    booking_closes_at: datetime | None
    slots: list[ImportedSlot] = field(default_factory=list)
    title: str = ""
    address: str = ""
    # A day without a time (starts_at and ends_at span the day): buyers book the day.
    date_only: bool = False
    # The provider asks not to show the viewing's start and end times.
    hide_times: bool = False


@dataclass(frozen=True)
class SourceListing:
    """One deal or estate a provider offers to import (`ProviderClient.list_sources`)."""

    source_id: str
    title: str
    address: str = ""


@dataclass(frozen=True)
class ChangedSources:
    """The deals or estates a provider lists as changed (`ProviderClient.changed_sources`)
    and the newest change among them, in the provider's clock: where the next look
    starts."""

    source_ids: frozenset[str]
    up_to: datetime | None


def check_unique_ids(viewings: list[ImportedViewing]) -> list[ImportedViewing]:
    """The viewings, if no two share an id and no viewing has two slots with one id;
    raises ValueError otherwise (an answer of the wrong shape)."""
    viewing_ids = [viewing.viewing_id for viewing in viewings]
    if len(set(viewing_ids)) != len(viewing_ids):
        raise ValueError("two viewings with one id")
    for viewing in viewings:
        slot_ids = [slot.slot_id for slot in viewing.slots]
        if len(set(slot_ids)) != len(slot_ids):
            raise ValueError("two slots with one id")
    return viewings


class SourceReadError(Exception):
    """A deal or estate could not be read; `problem` says why, for staff."""

    def __init__(self, problem: Problem, record: CallRecord | None = None):
        super().__init__(str(problem))
        self.problem = problem
        self.record = record

    @property
    def retry_after(self) -> float | None:
        """For bookings/fanout.py: seconds to wait when the provider was busy."""
        return self.record.back_off if self.record else None


class SourceWithdrawn(SourceReadError):
    """The provider no longer offers the deal or estate (unpublished, sold): a sync
    closes its viewings, as if it listed none, and shows staff `problem` as the reason."""


class NoRedirectSession(requests.Session):
    """A session that never works out where a redirect leads. Calls are sent with
    allow_redirects=False (a redirect would turn a POST into a GET somewhere else), yet
    requests still decodes the Location header to offer the next request, and a Location
    that is not UTF-8 raised there, losing the answer."""

    def get_redirect_target(self, response):
        return None


class ProviderClient:
    """Base for one client class per provider (see mspecs.py, vitec.py).

    A subclass says where and what to post for a booking (`delivery_request`), how to
    read the provider's answer (`reference`, `field_errors`), and which harmless
    authenticated GET proves a credential (`connection_check_endpoint`); turning an
    answer into an Outcome is shared here so both systems follow the same table.
    """

    # How many times a post whose answer was lost (it may have landed) may be repeated. 0:
    # never; the booking goes to staff for review instead.
    lost_answer_repeats = 0
    connection_check_endpoint = "/"
    # The booking's form field behind each name of the posted body, so staff see the broker
    # system's field errors beside the field they concern.
    booking_fields: dict[str, str] = {}

    @classmethod
    def for_credential(cls, credential: ProviderCredential) -> "ProviderClient":
        """The client for this credential (a provider with several APIs picks the
        one the credential speaks)."""
        return cls(credential)

    def __init__(self, credential: ProviderCredential, session: requests.Session | None = None):
        self.credential = credential
        self.base_url = credential.base_url.rstrip("/")
        self.session = session or self.new_session(credential)

    @classmethod
    def new_session(
        cls, credential: ProviderCredential, pool_size: int | None = None
    ) -> requests.Session:
        session = NoRedirectSession()
        # A pooled connection for every call this session may have in flight (by default,
        # every delivery call this process may have in flight).
        adapter = CheckedAddressAdapter(
            credential.agency.provider,
            credential.mspecs_api,
            pool_maxsize=pool_size
            or max(requests.adapters.DEFAULT_POOLSIZE, settings.DELIVERY_CONCURRENCY),
        )
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        if credential.auth_scheme == AuthScheme.BEARER:
            session.auth = BearerAuth(credential.secret)
        else:
            # As UTF-8 bytes: requests encodes str as Latin-1, which fails on "€" or "Ł".
            session.auth = (credential.username.encode(), credential.secret.encode())
        session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        session.headers.update(cls.credential_headers(credential))
        return session

    @classmethod
    def credential_headers(cls, credential: ProviderCredential) -> dict[str, str]:
        """Headers besides the auth that every call with this credential carries."""
        return {}

    @cached_property
    def send_options(self) -> dict:
        """The proxy and certificate settings requests takes from the environment (as
        session.request() does), read once: they depend only on the environment and on the
        host, and every call of this client goes to its base URL's host."""
        return self.session.merge_environment_settings(self.base_url, {}, None, None, None)

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
        """Send one request; `in_flight` is held only while it is on its way to the provider
        system and back (building it and reading the answer happen outside)."""
        url = self.base_url + endpoint
        record = CallRecord(method=method, endpoint=endpoint, url=url_without_userinfo(url))
        session = self.session
        try:
            # What session.request() does, split so that only the exchange is bounded.
            request = session.prepare_request(requests.Request(method, url, json=json))
            options = self.send_options
            with in_flight or nullcontext():
                started = time.monotonic()
                try:
                    # A redirect would turn the POST into a GET somewhere else.
                    response = session.send(
                        request, timeout=self.timeout, allow_redirects=False, **options
                    )
                finally:
                    record.duration_ms = round((time.monotonic() - started) * 1000)
                record.status, record.headers = response.status_code, response.headers
                if record.back_off:  # too many requests: the account's limit, not the call's
                    pause_calls(self.credential, record.back_off)
        except requests.RequestException as error:
            record.error = error
        else:
            record.text = response.text
            try:
                record.body = response.json()
            except ValueError:
                record.body = response.text
        return record

    # --- what each provider fills in ----------------------------------------------

    def delivery_request(self, booking: "Booking") -> tuple[str, dict]:
        """The endpoint (relative to the base URL) and JSON body that deliver a booking."""
        raise NotImplementedError

    def reference(self, record: CallRecord) -> str:
        return ""

    def field_errors(self, record: CallRecord) -> dict[str, list[str]]:
        return {}

    def answer_message(self, record: CallRecord) -> str:
        """What an error answer says in words, when the provider says it so; "" if not."""
        return ""

    def describe(self, record: CallRecord) -> Problem:
        """The answer for staff: its status, and the provider's words when it has some."""
        message = self.answer_message(record) if record.status is not None else ""
        if message:
            # Its own full stop goes: the sentences it is put in end with theirs.
            message = message.rstrip().removesuffix(".")
            return problems.HTTP_STATUS_SAID(status=record.status, message=message)
        return record.describe()

    def slot_is_full(self, errors: dict[str, list[str]]) -> bool:
        return False

    @classmethod
    def errors_by_booking_field(cls, errors: dict[str, list[str]]) -> dict[str, list[str]]:
        """Stored field errors keyed by the booking's field names; an error no field of
        ours matches stays under its own name. Keys may be paths ("updatePerson.cellPhone",
        "request.Email") in any case."""
        fields = {name.lower(): field for name, field in cls.booking_fields.items()}
        by_field: dict[str, list[str]] = {}
        for name, messages in errors.items():
            field = fields.get(str(name).rsplit(".", 1)[-1].lower(), name)
            by_field.setdefault(field, []).extend(messages)
        return by_field

    def fetch_viewings(self, source_id: str) -> list[ImportedViewing]:
        """The viewings of a deal (MSPECS) or estate (Vitec), read with one request.
        Raises SourceReadError."""
        raise NotImplementedError

    def import_viewings(self, source_id: str) -> list[ImportedViewing]:
        """The viewings of a deal or estate as import needs them, with their title and
        address (a Vitec estate names them in another read). Raises SourceReadError."""
        return self.fetch_viewings(source_id)

    def list_sources(self) -> list[SourceListing]:
        """The deals or estates the agency can import, for the import page and
        `manage.py import_viewings --list`. Raises SourceReadError."""
        raise NotImplementedError

    def changed_sources(self, since: datetime | None) -> ChangedSources:
        """The deals or estates changed since `since` (all of them: None), for a plug-in
        that `lists_changed_sources`. Raises SourceReadError."""
        raise NotImplementedError

    # --- shared ------------------------------------------------------------------------

    def read_source(self, endpoint: str, source_id: str) -> Any:
        """GET one deal or estate and return its parsed JSON body, or raise
        SourceReadError saying why not."""
        return self.read_source_record(endpoint, source_id).body

    def read_source_record(self, endpoint: str, source_id: str) -> CallRecord:
        """GET (part of) a deal or estate: the call, if it answered 200 with JSON (its
        headers may matter, e.g. a page's limit); else raise SourceReadError saying why."""
        record = self.call("GET", endpoint)
        status = record.status
        if status == 200 and not isinstance(record.body, str):
            return record
        if status == 200:
            problem = import_problems.SOURCE_UNEXPECTED(source=source_id, detail="not JSON")
        elif status in (401, 403):
            problem = import_problems.SOURCE_REFUSED(status=status)
        elif status == 404:
            problem = import_problems.SOURCE_NOT_FOUND(source=source_id)
        else:
            problem = import_problems.SOURCE_UNREACHABLE(
                source=source_id, answer=self.describe(record)
            )
        raise SourceReadError(problem, record)

    def unexpected(self, source_id: str, error: Exception) -> SourceReadError:
        """The answer for `source_id` was not of the shape assumed (`error` says where);
        logged with the credential's secret masked."""
        detail = redact_answer(describe_shape_error(error), self.credential)
        logger.warning(
            "Answer of an unexpected shape: %s",
            detail,
            extra={"agency_id": self.credential.agency_id, "source_id": source_id},
        )
        return SourceReadError(import_problems.SOURCE_UNEXPECTED(source=source_id, detail=detail))

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
        if record.address_refused:
            return DeliveryResult(
                Outcome.AUTH_FAILED, record, problems.ADDRESS_REFUSED(refusal=record.error.problem)
            )
        if status is None:
            if record.never_sent:
                return DeliveryResult(
                    Outcome.RETRY, record, problems.UNREACHABLE(answer=record.describe())
                )
            if self.lost_answer_repeats:
                return DeliveryResult(
                    Outcome.ANSWER_LOST, record, problems.UNREACHABLE(answer=record.describe())
                )
            return DeliveryResult(
                Outcome.NEEDS_REVIEW, record, problems.MAY_HAVE_SAVED(answer=record.describe())
            )
        if 200 <= status < 300:
            return DeliveryResult(Outcome.DELIVERED, record, reference=self.reference(record))
        if status in (401, 403):
            return DeliveryResult(
                Outcome.AUTH_FAILED, record, problems.CREDENTIAL_REFUSED(status=status)
            )
        if 300 <= status < 400:
            location = record.headers.get("Location", "?")
            return DeliveryResult(
                Outcome.REJECTED, record, problems.REDIRECTED(status=status, location=location)
            )
        if status in (408, 429) or status >= 500:
            return DeliveryResult(Outcome.RETRY, record, problems.BUSY(status=status))
        if status == 404:
            return DeliveryResult(Outcome.REJECTED, record, problems.GONE())
        errors = self.field_errors(record)
        full = self.slot_is_full(errors)
        message = self.answer_message(record)
        if full:
            problem = problems.SLOT_FULL()
        elif errors:
            problem = problems.DATA_REJECTED(
                errors="; ".join(f"{name}: {' '.join(texts)}" for name, texts in errors.items())
            )
        elif message:
            problem = problems.BOOKING_REJECTED_SAYING(status=status, message=message)
        else:
            problem = problems.BOOKING_REJECTED(status=status)
        return DeliveryResult(
            Outcome.REJECTED, record, problem, field_errors=errors, slot_fully_booked=full
        )

    def check_connection(self) -> ConnectionCheck:
        """A harmless authenticated GET. Only an answer that shows the login was checked
        counts: a 2xx (accepted) or 401/403 (refused); anything else leaves it unknown."""
        record = self.call("GET", self.connection_check_endpoint)
        status = record.status
        if record.address_refused:
            return ConnectionCheck(
                False,
                credential_problems.CHECK_ADDRESS_REFUSED(refusal=record.error.problem),
                record,
            )
        if status in (401, 403):
            return ConnectionCheck(False, credential_problems.CHECK_REFUSED(status=status), record)
        if status is None or status == 429 or status >= 500:
            return ConnectionCheck(
                None, credential_problems.CHECK_INCONCLUSIVE(answer=record.describe()), record
            )
        if 200 <= status < 300:
            return ConnectionCheck(True, credential_problems.CHECK_ACCEPTED(status=status), record)
        return ConnectionCheck(None, credential_problems.CHECK_UNVERIFIED(status=status), record)


class BuyerConfirmation(StrEnum):
    """How the provider confirms a booking to the buyer once it has it: what the
    buyer's status page tells them to expect (templates/bookings/booking_status.html)."""

    # An email asking the buyer to confirm; a broker then approves them (a quarantine).
    EMAIL_TO_CONFIRM_THEN_APPROVAL = "email_to_confirm_then_approval"
    EMAIL_AND_SMS = "email_and_sms"
    EMAIL = "email"
    SMS = "sms"
    NONE = "none"


@dataclass(frozen=True)
class ProviderPlugin:
    """What one provider is and can do. The rest of the code asks its plug-in
    (`bookings.providers.plugin_for`, `systems_with`), never which system an agency uses."""

    system: str  # an agencies.models.Provider value
    client_class: type[ProviderClient]
    contract: Contract
    # What the buyer is told to expect once the booking is there, given the agency's
    # credential (None when it has none).
    buyer_confirmation: Callable[[ProviderCredential | None], BuyerConfirmation]
    # The contract's schema of the request that delivers a booking: its lengths are the
    # limits intake holds bookings to (`field_limits`). None: the contract states none.
    delivery_schema: str | None = None
    # Every viewing is booked into a slot (Vitec); otherwise only time-slot viewings are.
    every_viewing_has_slots: bool = False
    # Places are polled per deal from the provider (MSPECS's slot status).
    polls_slot_status: bool = False
    # Delivered buyers wait in a quarantine until a broker approves them (MSPECS).
    has_quarantine: bool = False
    # The provider lets its deals or estates be re-read on a schedule (the periodic
    # sync, bookings/viewing_import/sync.py). MSPECS forbids it (docs/mspecs.md, "When we
    # read deal data"): its deals are read on import, on staff's request, on a webhook and
    # by the nightly catch-up below.
    scheduled_source_reads: bool = False
    # The provider tells our webhook when a deal changes (MSPECS); the events missed
    # are caught up once a night from `list_sources` (bookings/viewing_import/nightly.py).
    pushes_source_events: bool = False
    # How a credential may send its secret (agencies.models.AuthScheme values).
    auth_schemes: tuple[str, ...] = (AuthScheme.BASIC,)
    # A credential names the agency's customer id, part of every path (Vitec).
    needs_customer_id: bool = False
    # Whether a credential must name the agency's subscriber id, sent with every call
    # (MSPECS's provider API: docs/mspecs.md, "Two APIs").
    needs_subscriber_id: Callable[[ProviderCredential], bool] = lambda credential: False

    @cached_property
    def field_limits(self) -> dict[str, int]:
        """The most characters the provider takes in each booking field that has a
        limit ({"first_name": 60, ...}): the delivery request's `maxLength`s, mapped to
        the booking's fields through the client's `booking_fields`."""
        if self.delivery_schema is None:
            return {}
        limits: dict[str, int] = {}
        for name, limit in self.contract.max_lengths(self.delivery_schema).items():
            booking_field = self.client_class.booking_fields.get(name)
            if booking_field is not None:
                limits[booking_field] = min(limit, limits.get(booking_field, limit))
        return limits

    # The client lists the sources changed since a time (`changed_sources`, Vitec's estate
    # list by changedAt), so a scheduled sync reads only those (viewing_import/sync.py).
    lists_changed_sources: bool = False
