"""Fake MSPECS and Vitec Express providers over real HTTP on loopback, for `make run`
(`manage.py sandbox`), tests and benches. Never imported by runtime code paths
(tests/test_sandbox.py checks).

    state.py  what the two systems hold, and the control API (plain Python, thread-safe)
    http.py   the vendor contracts over that state: paths, auth, status codes, bodies

Tests drive it in-process and steer it through the control API only:

    with SandboxProviders() as sandbox:
        sandbox.set_deal("deal-1", {"slot-a": 2}, booked={"slot-a": 1})
        sandbox.set_fault(status=503, count=1)
        ... deliver to sandbox.mspecs_url / sandbox.vitec_url ...
        assert sandbox.received("mspecs") and sandbox.requests_served == 2
"""

import threading

from bookings.sandbox.http import SandboxHTTPServer
from bookings.sandbox.state import DEFAULT_SLOT_CAPACITY, ProviderState

__all__ = ["DEFAULT_SLOT_CAPACITY", "SandboxProviders"]


class SandboxProviders(ProviderState):
    """Both fake providers on one loopback HTTP server: the state's control API
    (set_fault, clear_fault, set_latency, set_credential, set_deal, set_vitec_capacity,
    remove_viewing, reset, received, quarantine, requests_served, max_in_flight,
    published_deals_requests, snapshot) plus the server's address and lifecycle."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **state):
        super().__init__(**state)
        self._httpd = SandboxHTTPServer((host, port), self)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def mspecs_url(self) -> str:
        return f"{self.url}/mspecs"

    @property
    def vitec_url(self) -> str:
        return f"{self.url}/vitec"

    def start(self) -> "SandboxProviders":
        """Serve on a background thread (tests)."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on this thread until interrupted (`manage.py sandbox`)."""
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "SandboxProviders":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
