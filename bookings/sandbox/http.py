"""The sandbox's HTTP plumbing: the vendor contracts (paths, auth, status codes, bodies)
over the state in `state.py`. One server serves both systems:

    {url}/mspecs/v3/viewings/externalViewer/{viewingId}[/slot/{slotId}]   POST
    {url}/mspecs/v3/viewings/slot/status/{dealId}                         GET
    {url}/mspecs/api/marketing/deals/{dealId}                             GET
    {url}/vitec/Viewing/{customerId}/{viewingId}/{timeSlotId}/Participant  POST
    {url}/vitec/Viewing/{customerId}/{estateId}                           GET
    {url}/vitec/Advertising/Estate/{customerId}?page=1&pageSize=100        GET

It speaks the vendor contracts (docs/mspecs.md, docs/vitec.md) as far as those go, and
invents the rest in the shape a real API would (noted where invented, and in those docs'
"Our assumptions"). Both systems take HTTP Basic auth; MSPECS also takes `Authorization:
Bearer <access token>`, and reads the `subscriber-id` header: required on the provider API
(`/api/...`: 400 without it), checked wherever it is sent (403 for a subscriber it does not
know, or one the access token was not generated for). Any other authenticated path answers
404 after the auth check, so a "test connection" GET tells a bad credential (401/403) from
a good one.

`manage.py sandbox` runs it out of process; the benches steer it over control endpoints,
each a method of the control API (`ProviderState`):

    GET  {url}/_sandbox/state        snapshot(): everything received, the MSPECS quarantine
    POST {url}/_sandbox/faults       set_fault(**body): {"mode": "status"|"drop"|"hang",
                                      "status": 500, "count": 3, "seconds": 60,
                                      "retry_after": 2, "hang_seconds": 3, "body": {...},
                                      "headers": {"Location": "..."}}; {} is clear_fault()
    POST {url}/_sandbox/latency      set_latency(): {"seconds": 0.05}
    POST {url}/_sandbox/deals/{id}   set_deal(): {"slotId": capacity, ...}
    POST {url}/_sandbox/mspecs-deals/{id}   set_mspecs_deal(): the deal document
    POST {url}/_sandbox/vitec-estates/{id}  set_vitec_estate(): {"viewings": [...],
                                      "street_address": "...", "city": "..."}
    POST {url}/_sandbox/access-tokens       set_access_token(): {"token": "...",
                                      "subscriber_id": "..."}
    POST {url}/_sandbox/reset        reset()
"""

import base64
import json
import re
import sys
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote

from bookings.sandbox.state import (
    Fault,
    ProviderState,
    SlotFull,
    UnknownDeal,
    UnknownSlot,
    ViewingGone,
)

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients can reuse connections
    # Headers and body go out in two writes: without TCP_NODELAY the second waits for the
    # client's delayed ACK (~40 ms), which would swamp any latency we set on purpose.
    disable_nagle_algorithm = True
    server: "SandboxHTTPServer"

    def log_message(self, format, *args):
        pass

    @property
    def providers(self) -> ProviderState:
        return self.server.providers

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
        latency, fault = self.providers.begin_request(self.path.split("?")[0])
        try:
            # The latency is the broker system's response time, its own work included.
            self._answer(method, body, arrived + latency, fault)
        finally:
            self.providers.end_request()

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
        if scheme.lower() == "bearer" and self.path.startswith("/mspecs/"):
            return self.providers.access_token_subscriber(encoded) is not None
        if scheme.lower() != "basic":
            return False
        try:
            # As RFC 7617's charset="UTF-8" asks: a Latin-1 encoded login does not match.
            username, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
        except ValueError:
            return False
        return self.providers.authenticates(username, password)

    # --- the two broker-system APIs -----------------------------------------------------

    def _subscriber_refusal(self, parts: list[str]) -> tuple[int, object] | None:
        """MSPECS's subscriber-id header: required on the provider API, and wherever sent
        it must name a subscriber the login may act for."""
        subscriber = self.headers.get("subscriber-id")
        if subscriber is None:
            if parts[1:2] == ["api"]:
                return HTTPStatus.BAD_REQUEST, {"message": "The subscriber-id header is required."}
            return None
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        token_subscriber = (
            self.providers.access_token_subscriber(token) if scheme.lower() == "bearer" else None
        )
        if not self.providers.knows_mspecs_subscriber(subscriber) or token_subscriber not in (
            None,
            subscriber,
        ):
            return HTTPStatus.FORBIDDEN, {"message": "No access to this subscriber."}
        return None

    def _route(self, method: str, body) -> tuple[int, object]:
        if not self._authenticated():
            return HTTPStatus.UNAUTHORIZED, {"message": "Authorization has been denied."}
        path, _, query = self.path.partition("?")
        parts = path.strip("/").split("/")
        if parts[0] == "mspecs" and (refusal := self._subscriber_refusal(parts)):
            return refusal
        match method, parts:
            case "POST", ["mspecs", "v3", "viewings", "externalViewer", viewing_id]:
                return self._mspecs_add_viewer(viewing_id, None, body)
            case "POST", ["mspecs", "v3", "viewings", "externalViewer", viewing_id, "slot", slot]:
                return self._mspecs_add_viewer(viewing_id, slot, body)
            case "GET", ["mspecs", "v3", "viewings", "slot", "status", deal_id]:
                return self._mspecs_slot_status(deal_id)
            case "GET", ["mspecs", "api", "marketing", "deals", deal_id]:
                try:
                    return HTTPStatus.OK, self.providers.mspecs_deal(unquote(deal_id))
                except UnknownDeal:
                    return HTTPStatus.NOT_FOUND, {"message": "Deal not found."}
            case _, ["vitec", ("Viewing" | "Advertising"), *_rest] if not (
                self.providers.knows_vitec_customer(
                    unquote(parts[2] if parts[1] == "Viewing" else parts[-1])
                )
            ):
                return HTTPStatus.FORBIDDEN, {"Message": "No access to this customer."}
            case "GET", ["vitec", "Viewing", _customer_id, estate_id]:
                try:
                    return HTTPStatus.OK, self.providers.vitec_estate_viewings(unquote(estate_id))
                except UnknownDeal:
                    return HTTPStatus.NOT_FOUND, {"Message": "Estate not found."}
            case "GET", ["vitec", "Advertising", "Estate", _customer_id]:
                return self._vitec_estates(parse_qs(query))
            case "POST", ["vitec", "Viewing", customer_id, viewing_id, slot_id, "Participant"]:
                return self._vitec_add_participant(customer_id, viewing_id, slot_id, body)
        return HTTPStatus.NOT_FOUND, {"message": "Not found."}

    def _vitec_estates(self, query: dict[str, list[str]]):
        # Paging assumed (docs/vitec.md): `page` from 1, `pageSize` up to 100.
        try:
            page = int(query.get("page", ["1"])[0])
            page_size = int(query.get("pageSize", ["100"])[0])
        except ValueError:
            page = page_size = 0
        if page < 1 or not 1 <= page_size <= 100:
            return HTTPStatus.BAD_REQUEST, {"Message": "The request is invalid."}
        estates, total = self.providers.vitec_estates(page, page_size)
        return HTTPStatus.OK, {"Estates": estates, "TotalCount": total}

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
        try:
            record_id = self.providers.add_mspecs_viewer(viewing_id, slot_id, body, self.path)
        except ViewingGone:
            return HTTPStatus.NOT_FOUND, {"message": f"Viewing {viewing_id} not found."}
        except UnknownSlot:
            return HTTPStatus.NOT_FOUND, {"message": f"Slot {slot_id} not found."}
        except SlotFull:
            return HTTPStatus.BAD_REQUEST, {"errors": {"slot": ["The slot is fully booked."]}}
        return HTTPStatus.OK, {"id": record_id}

    def _mspecs_slot_status(self, deal_id: str):
        try:
            slots = self.providers.mspecs_slot_status(deal_id)
        except UnknownDeal:
            return HTTPStatus.NOT_FOUND, {"message": f"Deal {deal_id} not found."}
        return HTTPStatus.OK, {
            slot_id: {"numberOfBooked": booked, "fullyBooked": full}
            for slot_id, (booked, full) in slots.items()
        }

    def _vitec_add_participant(self, customer_id, viewing_id, slot_id, body):
        if not self.providers.knows_vitec_customer(customer_id):
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
        try:
            booking_id = self.providers.add_vitec_participant(
                viewing_id,
                slot_id,
                body,
                self.path,
                limit=bool(options.get("enableBookingLimitValidation")),
            )
        except ViewingGone:
            return HTTPStatus.NOT_FOUND, {"Message": f"Viewing {viewing_id} not found."}
        except SlotFull:
            return HTTPStatus.BAD_REQUEST, {
                "Message": "The request is invalid.",
                "ModelState": {"BookingLimit": ["Visningstillfället är fullbokat."]},
            }
        return HTTPStatus.OK, booking_id if body.get("returnBookingId") else ""

    # --- control ------------------------------------------------------------------------

    def _control(self, method: str, command: str, body) -> None:
        body = body if isinstance(body, dict) else {}
        providers = self.providers
        match method, command.split("/"):
            case "GET", ["state"]:
                self._send(HTTPStatus.OK, providers.snapshot())
                return
            case "POST", ["faults"]:
                providers.set_fault(**body) if body else providers.clear_fault()
            case "POST", ["latency"]:
                providers.set_latency(float(body.get("seconds", 0)))
            case "POST", ["deals", deal_id]:
                providers.set_deal(deal_id, {k: int(v) for k, v in body.items()})
            case "POST", ["mspecs-deals", deal_id]:
                providers.set_mspecs_deal(deal_id, body)
            case "POST", ["vitec-estates", estate_id]:
                providers.set_vitec_estate(estate_id, **body)
            case "POST", ["access-tokens"]:
                providers.set_access_token(str(body.get("token")), str(body.get("subscriber_id")))
            case "POST", ["reset"]:
                providers.reset()
            case _:
                self._send(HTTPStatus.NOT_FOUND, {"message": "Unknown sandbox command."})
                return
        self._send(HTTPStatus.OK, {"ok": True})


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], providers: ProviderState):
        super().__init__(address, SandboxHandler)
        self.providers = providers

    def handle_error(self, request, client_address):
        # A client that gave up waiting (a timeout test) is expected, not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)
