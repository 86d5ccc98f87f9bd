"""The sandbox's HTTP plumbing over the state in `state.py`. One server serves every broker
system, each under its prefix by its plug-in's sandbox routes
(`bookings/providers/<system>/sandbox.py`): {url}/mspecs/..., {url}/vitec/...

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
    POST {url}/_sandbox/mspecs-deals/{id}[?subscriber=...]   set_mspecs_deal(): the deal
                                      document, in MSPECS's shape (400 otherwise)
    POST {url}/_sandbox/vitec-estates/{id}  set_vitec_estate(): {"viewings": [...],
                                      "customer_id": "...", "street_address": "...",
                                      "zip_code": "...", "postal_town": "...", "heading": "..."}
    POST {url}/_sandbox/access-tokens       set_access_token(): {"token": "...",
                                      "subscriber_id": "..."}
    POST {url}/_sandbox/mspx/{table}        set_mspx_row(): the row, with its "id"
    POST {url}/_sandbox/mspx-schema/{table} set_mspx_description(): the discovery answer
    POST {url}/_sandbox/mspx-row-limit      set_mspx_row_limit(): {"limit": 2}
    POST {url}/_sandbox/reset        reset()
"""

import base64
import contextlib
import json
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from bookings.providers.contracts import ContractViolation
from bookings.providers.mspecs import sandbox as mspecs_sandbox
from bookings.providers.vitec import sandbox as vitec_sandbox
from bookings.sandbox.state import Fault, ProviderState

# Each provider's routes under its own prefix: {url}/mspecs/..., {url}/vitec/...
SANDBOX_ROUTES = {routes.PREFIX: routes for routes in (mspecs_sandbox, vitec_sandbox)}


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
            # The latency is the provider's response time, its own work included.
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
            headers = dict(fault.headers)
            if fault.retry_after:
                headers["Retry-After"] = str(fault.retry_after)
            body = {"message": "Sandbox fault"} if fault.body is None else fault.body
            self._send(fault.status, body, headers, at=answer_at)
            return
        # (status, payload), or with the headers the vendor's answer carries.
        status, payload, *headers = self._route(method, body)
        if fault and fault.mode == "hang":
            answer_at += fault.hang_seconds  # the request was handled; the answer is late
        self._send(status, payload, *headers, at=answer_at)

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

    def _send(self, status: int, payload, headers: dict | None = None, at: float = 0.0) -> None:
        """Answer `payload` as JSON (None: an answer without a body), not before the
        time.monotonic() `at`. The answer is made whole first and goes out in one write,
        so that the latency covers the provider's work and no second write trails it."""
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        # end_headers(), with the body in the same buffer: flush_headers() writes it all.
        self._headers_buffer.append(b"\r\n" + data)
        self._wait_until(at)
        self.flush_headers()

    def _authenticated(self, bearer: bool) -> bool:
        header = self.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() == "bearer" and bearer:
            return self.providers.access_token_subscriber(encoded) is not None
        if scheme.lower() != "basic":
            return False
        try:
            # As RFC 7617's charset="UTF-8" asks: a Latin-1 encoded login does not match.
            username, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
        except ValueError:
            return False
        return self.providers.authenticates(username, password)

    # --- the providers' APIs: each plug-in's sandbox routes -----------------------

    def _route(self, method: str, body) -> tuple:
        path, _, query = self.path.partition("?")
        prefix, _, rest = path.strip("/").partition("/")
        routes = SANDBOX_ROUTES.get(prefix)
        if routes is None:
            return HTTPStatus.NOT_FOUND, {"message": "Not found."}
        if not self._authenticated(bearer=routes.BEARER):
            return HTTPStatus.UNAUTHORIZED, {"message": "Authorization has been denied."}
        return routes.route(
            self.providers, method, rest.split("/"), query, self.headers, body, self.path
        )

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
                deal_id, _, query = deal_id.partition("?")
                subscriber = parse_qs(query).get("subscriber", ["sandbox-subscriber"])[0]
                try:
                    providers.set_mspecs_deal(deal_id, body, subscriber_id=subscriber)
                except ContractViolation as violation:
                    self._send(HTTPStatus.BAD_REQUEST, {"message": str(violation)})
                    return
            case "POST", ["vitec-estates", estate_id]:
                providers.set_vitec_estate(estate_id, **body)
            case "POST", ["access-tokens"]:
                providers.set_access_token(str(body.get("token")), str(body.get("subscriber_id")))
            case "POST", ["mspx", table]:
                providers.set_mspx_row(table, body)
            case "POST", ["mspx-schema", table]:
                providers.set_mspx_description(table, body)
            case "POST", ["mspx-row-limit"]:
                providers.set_mspx_row_limit(int(body.get("limit", 0)))
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
        # The connections being served: a stopped sandbox answers nothing more, not even on
        # a connection a client keeps alive (a new sandbox on the same port gets its calls).
        # Set first: a port in use closes the server inside __init__.
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, SandboxHandler)
        self.providers = providers

    def process_request(self, request, client_address):
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def server_close(self):
        super().server_close()
        with self._connections_lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request, client_address):
        # A client that gave up waiting (a timeout test) is expected, not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)
