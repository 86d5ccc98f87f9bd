"""Sandbox broker-system servers: fake MSPECS and Vitec Express APIs over real HTTP on loopback.

They speak the vendor contracts (docs/mspecs.md, docs/vitec.md) as far as those go, and
invent the rest in the shape a real API would (noted where invented, and in those docs'
"Our assumptions"). One server serves both systems:

    {url}/mspecs/v3/viewings/externalViewer/{viewingId}[/slot/{slotId}]   POST
    {url}/mspecs/v3/viewings/slot/status/{dealId}                         GET
    {url}/vitec/Viewing/{customerId}/{viewingId}/{timeSlotId}/Participant  POST

Both use HTTP Basic auth (MSPECS's scheme is not documented; Basic is assumed). Any other
authenticated path answers 404 after the auth check, so a "test connection" GET tells a
bad credential (401/403) from a good one.

Tests drive it in-process (`with SandboxProviders() as sandbox:`); `manage.py sandbox`
runs it for the demo and the benchmarks, which steer it over the control endpoints:

    GET  {url}/_sandbox/state        everything received, and the MSPECS quarantine
    POST {url}/_sandbox/faults       {"mode": "status"|"drop"|"hang", "status": 500,
                                      "count": 3, "seconds": 60, "retry_after": 2,
                                      "hang_seconds": 3, "body": {...},
                                      "headers": {"Location": "..."}}; {} clears
    POST {url}/_sandbox/latency      {"seconds": 0.05}  (response time of every request)
    POST {url}/_sandbox/deals/{id}   {"slotId": capacity, ...}  (MSPECS slot capacities)
    POST {url}/_sandbox/reset
"""

import base64
import json
import re
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DEFAULT_SLOT_CAPACITY = 10


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


@dataclass
class SandboxState:
    credentials: dict[str, str]  # username -> password, for both systems
    vitec_customer_ids: set[str]
    latency: float = 0.0
    fault: Fault | None = None
    # Every booking POST accepted, in order: {"system", "path", "body", "id"}.
    received: list[dict] = field(default_factory=list)
    # MSPECS quarantine: (viewingId, slotId) -> email -> merged prospective buyer.
    quarantine: dict[tuple[str, str | None], dict[str, dict]] = field(default_factory=dict)
    # MSPECS deals: dealId -> slotId -> {"capacity": n, "booked": n}.
    deals: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    # Vitec slots with a booking limit: timeSlotId -> capacity; others are unlimited.
    vitec_capacity: dict[str, int] = field(default_factory=dict)
    vitec_booked: dict[str, int] = field(default_factory=dict)
    gone_viewings: set[str] = field(default_factory=set)
    requests_served: int = 0
    # Broker-system requests being answered right now, and the most there ever were at once.
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> dict:
        with self.lock:
            return {
                "received": list(self.received),
                "requests_served": self.requests_served,
                "quarantine": [
                    {"viewingId": viewing, "slotId": slot, **viewer}
                    for (viewing, slot), viewers in self.quarantine.items()
                    for viewer in viewers.values()
                ],
                "deals": self.deals,
            }


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients can reuse connections
    # Headers and body go out in two writes: without TCP_NODELAY the second waits for the
    # client's delayed ACK (~40 ms), which would swamp any latency we set on purpose.
    disable_nagle_algorithm = True
    server: "SandboxHTTPServer"

    def log_message(self, format, *args):
        pass

    @property
    def state(self) -> SandboxState:
        return self.server.state

    # --- plumbing -------------------------------------------------------------------

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        arrived = time.monotonic()
        body = self._read_body()
        if self.path.startswith("/_sandbox/"):
            self._control(method, self.path.removeprefix("/_sandbox/"), body)
            return
        with self.state.lock:
            self.state.requests_served += 1
            self.state.in_flight += 1
            self.state.max_in_flight = max(self.state.max_in_flight, self.state.in_flight)
            latency = self.state.latency
            fault = self.state.fault if self.state.fault and self.state.fault.take() else None
        try:
            # The latency is the broker system's response time, its own work included.
            self._answer(method, body, arrived + latency, fault)
        finally:
            with self.state.lock:
                self.state.in_flight -= 1

    def _answer(self, method: str, body, answer_at: float, fault: Fault | None) -> None:
        if fault and fault.mode == "drop":
            self._wait_until(answer_at)
            self.close_connection = True
            self.connection.close()
            return
        if fault and fault.mode == "status":
            self._wait_until(answer_at)
            headers = dict(fault.headers)
            if fault.retry_after:
                headers["Retry-After"] = str(fault.retry_after)
            body = {"message": "Sandbox fault"} if fault.body is None else fault.body
            self._send(fault.status, body, headers)
            return
        status, payload = self._route(method, body)
        self._wait_until(answer_at)
        if fault and fault.mode == "hang":
            time.sleep(fault.hang_seconds)  # the request was handled; the answer is late
        self._send(status, payload)

    @staticmethod
    def _wait_until(moment: float) -> None:
        remaining = moment - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return ValueError("not JSON")

    def _send(self, status: int, payload, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _authenticated(self) -> bool:
        header = self.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            # As RFC 7617's charset="UTF-8" asks: a Latin-1 encoded login does not match.
            username, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
        except ValueError:
            return False
        return self.state.credentials.get(username) == password

    # --- the two broker-system APIs ------------------------------------------------------------

    def _route(self, method: str, body) -> tuple[int, object]:
        if not self._authenticated():
            return HTTPStatus.UNAUTHORIZED, {"message": "Authorization has been denied."}
        parts = self.path.split("?")[0].strip("/").split("/")
        match method, parts:
            case "POST", ["mspecs", "v3", "viewings", "externalViewer", viewing_id]:
                return self._mspecs_add_viewer(viewing_id, None, body)
            case "POST", ["mspecs", "v3", "viewings", "externalViewer", viewing_id, "slot", slot]:
                return self._mspecs_add_viewer(viewing_id, slot, body)
            case "GET", ["mspecs", "v3", "viewings", "slot", "status", deal_id]:
                return self._mspecs_slot_status(deal_id)
            case "POST", ["vitec", "Viewing", customer_id, viewing_id, slot_id, "Participant"]:
                return self._vitec_add_participant(customer_id, viewing_id, slot_id, body)
            case _, ["vitec", "Viewing", customer_id, *_rest] if (
                customer_id not in self.state.vitec_customer_ids
            ):
                return HTTPStatus.FORBIDDEN, {"Message": "No access to this customer."}
        return HTTPStatus.NOT_FOUND, {"message": "Not found."}

    def _mspecs_add_viewer(self, viewing_id: str, slot_id: str | None, body):
        errors = {}
        if not isinstance(body, dict):
            return HTTPStatus.BAD_REQUEST, {"errors": {"body": ["A JSON object is required."]}}
        for name in ("firstName", "lastName"):
            if not str(body.get(name) or "").strip():
                errors[name] = ["Required."]
        if not EMAIL.match(str(body.get("email") or "")):
            errors["email"] = ["A valid email address is required."]
        phone = str(body.get("phoneNumber") or "")
        if not E164.match(phone):
            # Echoes the value, as real APIs often do (the engine must redact it).
            errors["phoneNumber"] = [f"'{phone}' must be in international format."]
        if errors:
            return HTTPStatus.BAD_REQUEST, {"errors": errors}
        email = body["email"].lower()
        with self.state.lock:
            if viewing_id in self.state.gone_viewings:
                return HTTPStatus.NOT_FOUND, {"message": f"Viewing {viewing_id} not found."}
            if slot_id is not None:
                slot = self._mspecs_slot(slot_id)
                if slot is None:
                    return HTTPStatus.NOT_FOUND, {"message": f"Slot {slot_id} not found."}
                if slot["booked"] >= slot["capacity"]:
                    return HTTPStatus.BAD_REQUEST, {
                        "errors": {"slot": ["The slot is fully booked."]}
                    }
                slot["booked"] += 1
            viewers = self.state.quarantine.setdefault((viewing_id, slot_id), {})
            # MSPECS identifies prospective buyers by email: a second booking with the
            # same email updates the one quarantine entry instead of adding another.
            viewer = viewers.setdefault(email, {"email": email, "bookings": 0})
            viewer.update(
                firstName=body["firstName"],
                lastName=body["lastName"],
                phoneNumber=body["phoneNumber"],
            )
            viewer["bookings"] += 1
            record_id = str(uuid.uuid4())
            self.state.received.append(
                {"system": "mspecs", "path": self.path, "body": body, "id": record_id}
            )
        return HTTPStatus.OK, {"id": record_id}

    def _mspecs_slot(self, slot_id: str) -> dict | None:
        for slots in self.state.deals.values():
            if slot_id in slots:
                return slots[slot_id]
        return None

    def _mspecs_slot_status(self, deal_id: str):
        with self.state.lock:
            slots = self.state.deals.get(deal_id)
            if slots is None:
                return HTTPStatus.NOT_FOUND, {"message": f"Deal {deal_id} not found."}
            return HTTPStatus.OK, {
                slot_id: {
                    "numberOfBooked": slot["booked"],
                    "fullyBooked": slot["booked"] >= slot["capacity"],
                }
                for slot_id, slot in slots.items()
            }

    def _vitec_add_participant(self, customer_id, viewing_id, slot_id, body):
        if customer_id not in self.state.vitec_customer_ids:
            return HTTPStatus.FORBIDDEN, {"Message": "No access to this customer."}
        # Invented in the shape of an ASP.NET Web API validation error (docs/vitec.md).
        model_state = {}
        person = body.get("updatePerson") if isinstance(body, dict) else None
        if not isinstance(person, dict):
            model_state["participant.UpdatePerson"] = ["UpdatePerson is required."]
            person = {}
        for name in ("firstName", "lastName"):
            if not str(person.get(name) or "").strip():
                model_state[f"participant.UpdatePerson.{name[0].upper()}{name[1:]}"] = ["Required."]
        email = (person.get("email") or {}).get("emailAddress") or ""
        if email and not EMAIL.match(email):
            model_state["participant.UpdatePerson.Email.EmailAddress"] = ["Invalid email."]
        phone = person.get("cellPhone") or ""
        if phone and not E164.match(phone):
            model_state["participant.UpdatePerson.CellPhone"] = ["Invalid phone number."]
        if not email and not phone:
            model_state["participant.UpdatePerson"] = ["Email or cell phone is required."]
        if model_state:
            return HTTPStatus.BAD_REQUEST, {
                "Message": "The request is invalid.",
                "ModelState": model_state,
            }
        options = body.get("options") or {}
        with self.state.lock:
            if viewing_id in self.state.gone_viewings:
                return HTTPStatus.NOT_FOUND, {"Message": f"Viewing {viewing_id} not found."}
            capacity = self.state.vitec_capacity.get(slot_id)
            booked = self.state.vitec_booked.get(slot_id, 0)
            if (
                options.get("enableBookingLimitValidation")
                and capacity is not None
                and booked >= capacity
            ):
                return HTTPStatus.BAD_REQUEST, {
                    "Message": "The request is invalid.",
                    "ModelState": {"BookingLimit": ["Visningstillfället är fullbokat."]},
                }
            self.state.vitec_booked[slot_id] = booked + 1
            booking_id = str(uuid.uuid4())
            self.state.received.append(
                {"system": "vitec", "path": self.path, "body": body, "id": booking_id}
            )
        return HTTPStatus.OK, booking_id if body.get("returnBookingId") else ""

    # --- control ------------------------------------------------------------------------

    def _control(self, method: str, command: str, body) -> None:
        body = body if isinstance(body, dict) else {}
        server = self.server.sandbox
        match method, command.split("/"):
            case "GET", ["state"]:
                self._send(200, self.state.snapshot())
                return
            case "POST", ["faults"]:
                server.set_fault(**body) if body else server.clear_fault()
            case "POST", ["latency"]:
                server.set_latency(float(body.get("seconds", 0)))
            case "POST", ["deals", deal_id]:
                server.set_deal(deal_id, {k: int(v) for k, v in body.items()})
            case "POST", ["reset"]:
                server.reset()
            case _:
                self._send(404, {"message": "Unknown sandbox command."})
                return
        self._send(200, {"ok": True})


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    state: SandboxState
    sandbox: "SandboxProviders"

    def handle_error(self, request, client_address):
        # A client that gave up waiting (a timeout test) is expected, not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class SandboxProviders:
    """Both fake broker systems on one loopback HTTP server.

    >>> with SandboxProviders() as sandbox:
    ...     sandbox.mspecs_url, sandbox.vitec_url
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        credentials: dict[str, str] | None = None,
        vitec_customer_ids: set[str] | frozenset[str] = frozenset({"sandbox-customer"}),
    ):
        self.state = SandboxState(
            credentials=dict(credentials or {"sandbox": "sandbox-secret"}),
            vitec_customer_ids=set(vitec_customer_ids),
        )
        self.httpd = SandboxHTTPServer((host, port), SandboxHandler)
        self.httpd.state = self.state
        self.httpd.sandbox = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def mspecs_url(self) -> str:
        return f"{self.url}/mspecs"

    @property
    def vitec_url(self) -> str:
        return f"{self.url}/vitec"

    def start(self) -> "SandboxProviders":
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "SandboxProviders":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # --- steering, for tests and the control endpoints -----------------------------------

    def set_latency(self, seconds: float) -> None:
        self.state.latency = seconds

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
        until = time.monotonic() + seconds if seconds is not None else None
        self.state.fault = Fault(
            mode, status, count, until, retry_after, hang_seconds, body, dict(headers or {})
        )

    def clear_fault(self) -> None:
        self.state.fault = None

    def set_deal(self, deal_id: str, capacities: dict[str, int]) -> None:
        """Declare an MSPECS deal's slots and how many buyers each takes."""
        with self.state.lock:
            slots = self.state.deals.setdefault(deal_id, {})
            for slot_id, capacity in capacities.items():
                slots.setdefault(slot_id, {"booked": 0})["capacity"] = capacity

    def set_vitec_capacity(self, slot_id: str, capacity: int) -> None:
        self.state.vitec_capacity[slot_id] = capacity

    def remove_viewing(self, viewing_id: str) -> None:
        """Make the broker system answer 404 for this viewing, as if it was deleted."""
        self.state.gone_viewings.add(viewing_id)

    def reset(self) -> None:
        with self.state.lock:
            self.state.received.clear()
            self.state.quarantine.clear()
            self.state.deals.clear()
            self.state.vitec_capacity.clear()
            self.state.vitec_booked.clear()
            self.state.gone_viewings.clear()
            self.state.requests_served = 0
            self.state.max_in_flight = 0
        self.state.fault = None
        self.state.latency = 0.0

    def received(self, system: str | None = None) -> list[dict]:
        with self.state.lock:
            return [r for r in self.state.received if system in (None, r["system"])]

    def quarantine(self, viewing_id: str, slot_id: str | None = None) -> dict[str, dict]:
        """What an MSPECS broker sees in the quarantine sidebar: one entry per email."""
        with self.state.lock:
            return {
                k: dict(v) for k, v in self.state.quarantine.get((viewing_id, slot_id), {}).items()
            }
