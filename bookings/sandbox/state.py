"""What the two fake providers hold, in plain Python: no HTTP here.

`ProviderState` is the sandbox's memory (viewings removed, MSPECS deals and their slots,
Vitec estates, their participants and booking limits, the MSPECS quarantine, every booking
received, the fault and latency in force, request counters) and its control API. Every
method is thread-safe: the HTTP server answers each request on its own thread.
"""

import copy
import threading
import time
import uuid
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bookings.providers.mspecs.schemas import CONTRACT as MSPECS_CONTRACT

# How many buyers an MSPECS slot takes when nobody said otherwise.
DEFAULT_SLOT_CAPACITY = 10
# What MSPECS's published-deals list shows of a deal (marketing_publishedDealListData,
# docs/mspecs.md "Published deals"); the deal's viewings are read from the deal itself.
PUBLISHED_LIST_FIELDS = (
    *("id", "projectDealId", "shortId", "displayName", "objectType", "isInternational"),
    *("isNewDevelopment", "currency", "publishingInformation", "location"),
)
# The most rows one MSPX answer holds unless steered lower (get_api.txt, docs/mspecs.md).
MSPX_ROW_LIMIT = 1000
# Vitec writes its times in Swedish local time, with the offset.
VITEC_TIME_ZONE = zoneinfo.ZoneInfo("Europe/Stockholm")


class Refused(Exception):
    """The provider refuses a booking for a reason its HTTP API reports."""


class ViewingGone(Refused):
    """The viewing was removed in the provider."""


class UnknownSlot(Refused):
    """No MSPECS deal has this slot."""


class UnknownDeal(Refused):
    """No MSPECS deal has this id."""


class SlotFull(Refused):
    """The slot already has as many buyers as it takes."""


@dataclass
class Fault:
    """What the sandbox does instead of answering normally, for `count` requests or
    `seconds` seconds (whichever is set; neither means until cleared)."""

    mode: str = "status"  # status: answer `status`; drop: close the connection; hang: answer late
    status: int = 500
    count: int | None = None
    until: float | None = None
    retry_after: int | None = None
    hang_seconds: float = 3.0
    body: object = None  # what a "status" fault answers, instead of a generic message
    headers: dict[str, str] = field(default_factory=dict)  # and the headers it adds

    def take(self) -> bool:
        if self.until is not None and time.monotonic() > self.until:
            return False
        if self.count is not None:
            if self.count <= 0:
                return False
            self.count -= 1
        return True


class ProviderState:
    """Both fake providers' data, and the control API tests and benches steer it by."""

    def __init__(
        self,
        *,
        credentials: dict[str, str] | None = None,
        vitec_customer_ids: set[str] | frozenset[str] = frozenset({"sandbox-customer"}),
        mspecs_subscriber_ids: set[str] | frozenset[str] = frozenset({"sandbox-subscriber"}),
    ):
        self._lock = threading.Lock()
        # username -> password, for both systems.
        self._credentials = dict(credentials or {"sandbox": "sandbox-secret"})
        self._vitec_customer_ids = set(vitec_customer_ids)
        self._mspecs_subscriber_ids = set(mspecs_subscriber_ids)
        # MSPECS access token -> the subscriber it was generated for.
        self._access_tokens: dict[str, str] = {}
        self._clear()

    def _clear(self) -> None:
        self._latency = 0.0
        self._fault: Fault | None = None
        # Every booking accepted, in order: {"system", "path", "body", "id"}.
        self._received: list[dict] = []
        # MSPECS quarantine: (viewingId, slotId) -> email -> merged prospective buyer.
        self._quarantine: dict[tuple[str, str | None], dict[str, dict]] = {}
        # MSPECS deals: dealId -> slotId -> {"capacity": n, "booked": n}.
        self._deals: dict[str, dict[str, dict[str, int]]] = {}
        # Vitec booking limits set by hand: timeSlotId -> capacity (else the viewing's
        # participantPerTimeSlot, when its estate is known and it is above 0).
        self._vitec_capacity: dict[str, int] = {}
        # Vitec participants added through the API: timeSlotId -> [contactId, ...].
        self._vitec_participants: dict[str, list[str]] = {}
        self._gone_viewings: set[str] = set()
        # MSPECS deals as `GET /api/marketing/deals/{dealId}` answers them: dealId -> document.
        self._deal_documents: dict[str, dict] = {}
        # dealId -> the subscriber whose published-deals list shows it.
        self._deal_subscribers: dict[str, str] = {}
        # Vitec estates: estateId -> {"customer_id", "changed_at", "estate": the document
        # `GET Advertising/Estate/{customerId}/{estateId}` answers, "viewings": [viewing, ...]}.
        self._estates: dict[str, dict] = {}
        self._clear_mspx()
        self._vitec_changed_at = datetime.now(VITEC_TIME_ZONE)
        self._requests_served = 0
        # Provider requests per path, to check "one request per deal or estate".
        self._requests_by_path: dict[str, int] = {}
        # Provider requests being answered right now, and the most there ever were at once.
        self._in_flight = 0
        self._max_in_flight = 0
        # MSPECS's published-deals list: every request for it, as {"query", "headers"}; and
        # when the deals count as published, for a document that does not say.
        self._published_deals_requests: list[dict] = []
        self._published_since = datetime.now(UTC).isoformat(timespec="seconds")

    def _clear_mspx(self) -> None:
        # MSPECS's MSPX tables: table -> row id -> row (kept as given); a table's discovery
        # answer when a test set one; the most rows one answer holds; and the query of
        # every list read, in order.
        self._mspx_rows: dict[str, dict[str, dict]] = {}
        self._mspx_descriptions: dict[str, dict] = {}
        self._mspx_row_limit = MSPX_ROW_LIMIT
        self._mspx_queries: list[dict] = []

    # --- control API: how tests, benches and `manage.py sandbox` steer the sandbox --------

    def set_latency(self, seconds: float) -> None:
        """Make every provider request take `seconds` to answer, its own work included."""
        with self._lock:
            self._latency = seconds

    def set_fault(
        self,
        mode: str = "status",
        status: int = 500,
        count: int | None = None,
        seconds: float | None = None,
        retry_after: int | None = None,
        hang_seconds: float = 3.0,
        body: object = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Misbehave on the next `count` requests or for `seconds` (neither: until
        cleared): answer `status` (with `body`, `headers` and `retry_after` when given),
        drop the connection ("drop") or handle the request and answer `hang_seconds` late
        ("hang")."""
        until = time.monotonic() + seconds if seconds is not None else None
        fault = Fault(
            mode, status, count, until, retry_after, hang_seconds, body, dict(headers or {})
        )
        with self._lock:
            self._fault = fault

    def clear_fault(self) -> None:
        with self._lock:
            self._fault = None

    def set_credential(self, username: str, password: str) -> None:
        """Let `username` in with `password` (both systems), replacing any former password."""
        with self._lock:
            self._credentials[username] = password

    def set_deal(
        self, deal_id: str, capacities: dict[str, int], *, booked: dict[str, int] | None = None
    ) -> None:
        """Declare an MSPECS deal's slots and how many buyers each takes; `booked` sets how
        many each has already (as if buyers had booked by other ways)."""
        with self._lock:
            slots = self._deals.setdefault(deal_id, {})
            for slot_id, capacity in capacities.items():
                slots.setdefault(slot_id, {"booked": 0})["capacity"] = capacity
            for slot_id, number in (booked or {}).items():
                slots.setdefault(slot_id, {"capacity": DEFAULT_SLOT_CAPACITY})["booked"] = number

    def set_access_token(self, token: str, subscriber_id: str) -> None:
        """Let an MSPECS Bearer access token in, generated for `subscriber_id`."""
        with self._lock:
            self._access_tokens[token] = subscriber_id
            self._mspecs_subscriber_ids.add(subscriber_id)

    def set_mspecs_deal(
        self, deal_id: str, document: dict, *, subscriber_id: str = "sandbox-subscriber"
    ) -> None:
        """What `GET /api/marketing/deals/{dealId}` answers for this deal: a document of
        MSPECS's shape, or ContractViolation (a wrong shape is answered with set_fault). The
        deal is published to `subscriber_id`'s list of published deals."""
        MSPECS_CONTRACT.check("deal", document)
        with self._lock:
            self._deal_documents[deal_id] = document
            self._deal_subscribers[deal_id] = subscriber_id
            self._mspecs_subscriber_ids.add(subscriber_id)

    def remove_mspecs_deal(self, deal_id: str) -> None:
        with self._lock:
            self._deal_documents.pop(deal_id, None)
            self._deal_subscribers.pop(deal_id, None)

    def set_vitec_estate(
        self,
        estate_id: str,
        viewings: list,
        *,
        customer_id: str = "sandbox-customer",
        street_address: str = "",
        zip_code: str = "",
        postal_town: str = "",
        heading: str = "",
        document: dict | None = None,
        published: bool = True,
    ) -> None:
        """Set (or change) a Vitec estate of `customer_id`, changed now: what
        `GET Viewing/{customerId}/{estateId}` answers (`viewings`, kept as given, with the
        participants added through the API), and, when `published` (for the advertising
        API), its row in `GET Advertising/Estate/{customerId}` and what
        `GET Advertising/Estate/{customerId}/{estateId}` answers (`document` as given, else
        an estate with this address and sales heading)."""
        with self._lock:
            # Strictly later than any change before, as a list ordered by changedAt needs.
            changed_at = max(
                datetime.now(VITEC_TIME_ZONE),
                self._vitec_changed_at + timedelta(microseconds=1),
            )
            self._vitec_changed_at = changed_at
            if document is None:
                document = {
                    "id": estate_id,
                    "address": {
                        "streetAddress": street_address,
                        "zipCode": {
                            "numerical": int(zip_code.replace(" ", "") or 0),
                            "value": zip_code,
                        },
                        "postalTown": postal_town,
                    },
                    "sale": {"heading": heading},
                    "changedAt": changed_at.isoformat(),
                }
            self._vitec_customer_ids.add(customer_id)
            self._estates[estate_id] = {
                "customer_id": customer_id,
                "published": published,
                "changed_at": changed_at,
                "estate": document,
                "viewings": viewings,
            }

    def set_vitec_capacity(self, slot_id: str, capacity: int) -> None:
        """Give a Vitec time slot a booking limit (others are unlimited)."""
        with self._lock:
            self._vitec_capacity[slot_id] = capacity

    def set_mspx_row(self, table: str, row: dict) -> None:
        """Put a row (kept as given) in an MSPX table, under its `id`."""
        with self._lock:
            self._mspx_rows.setdefault(table, {})[str(row.get("id"))] = row

    def remove_mspx_row(self, table: str, row_id: str) -> None:
        with self._lock:
            self._mspx_rows.get(table, {}).pop(row_id, None)

    def set_mspx_description(self, table: str, description: dict) -> None:
        """What `GET /schema/{table}` answers (kept as given), instead of the usual."""
        with self._lock:
            self._mspx_descriptions[table] = description

    def set_mspx_row_limit(self, limit: int) -> None:
        """Answer MSPX lists with at most `limit` rows (MSPX may enforce limits below 1000)."""
        with self._lock:
            self._mspx_row_limit = limit

    def mspx_queries(self) -> list[dict]:
        """The query of every MSPX list read so far, in order: {"table", "query"}, the
        query as {name: [values]}."""
        with self._lock:
            return [dict(entry) for entry in self._mspx_queries]

    def remove_viewing(self, viewing_id: str) -> None:
        """Make the providers answer 404 for this viewing, as if it was deleted."""
        with self._lock:
            self._gone_viewings.add(viewing_id)

    def reset(self) -> None:
        """Forget everything but the credentials and Vitec customers."""
        with self._lock:
            self._clear()

    def received(self, system: str | None = None) -> list[dict]:
        """Every booking accepted so far (of `system`, "mspecs" or "vitec", when given), in
        order: {"system", "path", "body", "id"}."""
        with self._lock:
            return [dict(r) for r in self._received if system in (None, r["system"])]

    def quarantine(self, viewing_id: str, slot_id: str | None = None) -> dict[str, dict]:
        """What an MSPECS broker sees in the quarantine sidebar: one entry per email."""
        with self._lock:
            viewers = self._quarantine.get((viewing_id, slot_id), {})
            return {email: dict(viewer) for email, viewer in viewers.items()}

    @property
    def requests_served(self) -> int:
        """Provider requests answered (control requests not counted)."""
        with self._lock:
            return self._requests_served

    def requests_to(self, path: str) -> int:
        """Provider requests answered for this path (without the query)."""
        with self._lock:
            return self._requests_by_path.get(path, 0)

    @property
    def max_in_flight(self) -> int:
        """The most provider requests ever answered at once."""
        with self._lock:
            return self._max_in_flight

    def snapshot(self) -> dict:
        """Everything received, the MSPECS quarantine and deals, as JSON-ready data."""
        with self._lock:
            return {
                "received": [dict(r) for r in self._received],
                "requests_served": self._requests_served,
                "requests_by_path": dict(self._requests_by_path),
                "max_in_flight": self._max_in_flight,
                "quarantine": [
                    {"viewingId": viewing, "slotId": slot, **viewer}
                    for (viewing, slot), viewers in self._quarantine.items()
                    for viewer in viewers.values()
                ],
                "deals": {
                    deal: {slot_id: dict(slot) for slot_id, slot in slots.items()}
                    for deal, slots in self._deals.items()
                },
            }

    # --- what the HTTP plumbing asks --------------------------------------------------

    def authenticates(self, username: str, password: str) -> bool:
        with self._lock:
            return self._credentials.get(username) == password

    def knows_vitec_customer(self, customer_id: str) -> bool:
        with self._lock:
            return customer_id in self._vitec_customer_ids

    def knows_mspecs_subscriber(self, subscriber_id: str) -> bool:
        with self._lock:
            return subscriber_id in self._mspecs_subscriber_ids

    def access_token_subscriber(self, token: str) -> str | None:
        """The subscriber an MSPECS access token was generated for; None: not a token."""
        with self._lock:
            return self._access_tokens.get(token)

    def mspecs_deal(self, deal_id: str) -> dict:
        """The deal document; raises UnknownDeal."""
        with self._lock:
            if deal_id not in self._deal_documents:
                raise UnknownDeal(deal_id)
            return self._deal_documents[deal_id]

    def mspecs_published_deals(self, request: dict) -> list[dict]:
        """`GET /api/marketing/deals`: the deals published to the request's subscriber, each
        as the list shows it: the list's fields of the deal document, the required ones
        filled in when the document lacks them. `request` ({"query", "headers"}) is kept for
        `published_deals_requests`."""
        subscriber = request["headers"].get("subscriber-id")
        with self._lock:
            self._published_deals_requests.append(request)
            documents = [
                (deal_id, document)
                for deal_id, document in self._deal_documents.items()
                if self._deal_subscribers[deal_id] == subscriber
            ]
        return [
            {
                "id": deal_id,
                "objectType": {"constant": "OBJECT_TYPE_HOUSE", "translation": "Småhus"},
                "isNewDevelopment": False,
                "publishingInformation": {
                    "status": "ENUM_DEAL_MARKETING_PLACES_STATUS_PUBLISHED",
                    "updated": self._published_since,
                },
                **{name: document[name] for name in PUBLISHED_LIST_FIELDS if name in document},
            }
            for deal_id, document in documents
        ]

    def published_deals_requests(self) -> list[dict]:
        """Every request for MSPECS's published-deals list so far: {"query", "headers"}."""
        with self._lock:
            return [dict(request) for request in self._published_deals_requests]

    def vitec_estate_viewings(self, estate_id: str) -> list:
        """The estate's viewings, each time slot listing the participants added through
        the API after those it was given; raises UnknownDeal (an unknown estate)."""
        with self._lock:
            if estate_id not in self._estates:
                raise UnknownDeal(estate_id)
            viewings = copy.deepcopy(self._estates[estate_id]["viewings"])
            for slot in _vitec_time_slots(viewings):
                added = self._vitec_participants.get(slot.get("id"), [])
                if added:
                    slot["participants"] = [
                        *(slot.get("participants") or []),
                        *({"contactId": contact, "hasParticipated": False} for contact in added),
                    ]
            return viewings

    def vitec_estate(self, estate_id: str) -> dict:
        """The published estate's document; raises UnknownDeal."""
        with self._lock:
            if not self._estates.get(estate_id, {}).get("published"):
                raise UnknownDeal(estate_id)
            return self._estates[estate_id]["estate"]

    def vitec_estate_rows(
        self, customer_id: str, changed_from: datetime | None, changed_to: datetime | None
    ) -> list[dict]:
        """The customer's published estates changed in [changed_from, changed_to], as rows
        of `GET Advertising/Estate/{customerId}`, oldest change first."""
        with self._lock:
            estates = [
                (estate_id, estate)
                for estate_id, estate in self._estates.items()
                if estate["customer_id"] == customer_id
                and estate["published"]
                and (changed_from is None or estate["changed_at"] >= changed_from)
                and (changed_to is None or estate["changed_at"] <= changed_to)
            ]
        estates.sort(key=lambda item: item[1]["changed_at"])
        return [
            {"id": estate_id, "customerId": customer_id, "changedAt": e["changed_at"].isoformat()}
            for estate_id, e in estates
        ]

    def mspx_table(self, table: str) -> dict[str, dict] | None:
        """An MSPX table's rows by id; None for a table the sandbox does not hold."""
        with self._lock:
            rows = self._mspx_rows.get(table)
            return None if rows is None else dict(rows)

    def mspx_description(self, table: str) -> dict | None:
        with self._lock:
            return self._mspx_descriptions.get(table)

    def mspx_list_read(self, table: str, query: dict[str, list[str]]) -> int:
        """Note a list read's query; returns the most rows its answer may hold."""
        with self._lock:
            self._mspx_queries.append({"table": table, "query": query})
            return self._mspx_row_limit

    def begin_request(self, path: str = "") -> tuple[float, Fault | None]:
        """Count a provider request in; returns the latency and the fault (if any) it gets."""
        with self._lock:
            self._requests_served += 1
            self._requests_by_path[path] = self._requests_by_path.get(path, 0) + 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            fault = self._fault if self._fault and self._fault.take() else None
            return self._latency, fault

    def end_request(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def add_mspecs_viewer(
        self, viewing_id: str, slot_id: str | None, buyer: dict, path: str
    ) -> str:
        """Put a valid buyer in the viewing's (or slot's) MSPECS quarantine; returns the
        record id. Raises ViewingGone, UnknownSlot or SlotFull."""
        email = buyer["email"].lower()
        with self._lock:
            if viewing_id in self._gone_viewings:
                raise ViewingGone(viewing_id)
            if slot_id is not None:
                slot = self._mspecs_slot(slot_id)
                if slot is None:
                    raise UnknownSlot(slot_id)
                if slot["booked"] >= slot["capacity"]:
                    raise SlotFull(slot_id)
                slot["booked"] += 1
            viewers = self._quarantine.setdefault((viewing_id, slot_id), {})
            # MSPECS identifies prospective buyers by email: a second booking with the
            # same email updates the one quarantine entry instead of adding another.
            viewer = viewers.setdefault(email, {"email": email, "bookings": 0})
            viewer.update(
                firstName=buyer["firstName"],
                lastName=buyer["lastName"],
                phoneNumber=buyer["phoneNumber"],
            )
            viewer["bookings"] += 1
            return self._receive("mspecs", path, buyer)

    def _mspecs_slot(self, slot_id: str) -> dict | None:
        for slots in self._deals.values():
            if slot_id in slots:
                return slots[slot_id]
        return None

    def mspecs_slot_status(self, deal_id: str) -> dict[str, tuple[int, bool]]:
        """slotId -> (number booked, fully booked) of an MSPECS deal; raises UnknownDeal."""
        with self._lock:
            slots = self._deals.get(deal_id)
            if slots is None:
                raise UnknownDeal(deal_id)
            return {
                slot_id: (slot["booked"], slot["booked"] >= slot["capacity"])
                for slot_id, slot in slots.items()
            }

    def add_vitec_participant(
        self, viewing_id: str, slot_id: str, participant: dict, path: str, *, limit: bool
    ) -> str:
        """Book a valid participant into a Vitec time slot, within its booking limit when
        `limit` (the limit set by hand, else the viewing's participantPerTimeSlot, counting
        the participants listed and added); returns the booking id. Raises ViewingGone or
        SlotFull."""
        with self._lock:
            if viewing_id in self._gone_viewings:
                raise ViewingGone(viewing_id)
            capacity, listed = self._vitec_slot(viewing_id, slot_id)
            capacity = self._vitec_capacity.get(slot_id, capacity)
            added = self._vitec_participants.setdefault(slot_id, [])
            if limit and capacity is not None and listed + len(added) >= capacity:
                raise SlotFull(slot_id)
            added.append(f"ADR{uuid.uuid4().hex.upper()}")
            return self._receive("vitec", path, participant)

    def _vitec_slot(self, viewing_id: str, slot_id: str) -> tuple[int | None, int]:
        """(participantPerTimeSlot when above 0, participants listed) of a time slot of a
        known estate's viewing (a viewing without time slots is booked under its own id)."""
        for estate in self._estates.values():
            for viewing in estate["viewings"]:
                if not isinstance(viewing, dict) or viewing.get("id") != viewing_id:
                    continue
                capacity = viewing.get("participantPerTimeSlot") or None
                if slot_id == viewing_id:
                    return capacity, 0
                for slot in _vitec_time_slots([viewing]):
                    if slot.get("id") == slot_id:
                        return capacity, len(slot.get("participants") or [])
        return None, 0

    def _receive(self, system: str, path: str, body: dict) -> str:
        record_id = str(uuid.uuid4())
        self._received.append({"system": system, "path": path, "body": body, "id": record_id})
        return record_id


def _vitec_time_slots(viewings) -> list[dict]:
    """The time slots of well-formed viewings (a test may give the sandbox any shape)."""
    return [
        slot
        for viewing in viewings
        if isinstance(viewing, dict) and isinstance(viewing.get("timeSlots"), list)
        for slot in viewing["timeSlots"]
        if isinstance(slot, dict)
    ]
