"""What every broker-system client shares: one HTTP session per credential, timeouts,
auth, and a record of each call that delivery and polling can store as they need."""

import time
from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings

from agencies.models import ProviderCredential

USER_AGENT = "ViewingBridge/1.0 (+https://viewingbridge.se)"


@dataclass
class CallRecord:
    """One HTTP call: what was asked, what came back, how long it took."""

    method: str
    endpoint: str  # path relative to the credential's base URL, never with secrets
    status: int | None = None  # None when no response arrived
    body: Any = None  # parsed JSON, or the text when it was not JSON
    text: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    duration_ms: int = 0
    error: requests.RequestException | None = None

    @property
    def timed_out_reading(self) -> bool:
        """The request was sent but no answer came in time: it may have taken effect."""
        return isinstance(self.error, requests.ReadTimeout)


class BrokerClient:
    """Base for one client class per broker system (see mspecs.py, vitec.py)."""

    def __init__(self, credential: ProviderCredential, session: requests.Session | None = None):
        self.credential = credential
        self.base_url = credential.base_url.rstrip("/")
        self.session = session or self.new_session(credential)

    @staticmethod
    def new_session(credential: ProviderCredential) -> requests.Session:
        session = requests.Session()
        session.auth = (credential.username, credential.secret)
        session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        return session

    @property
    def timeout(self) -> tuple[float, float]:
        return (settings.BROKER_CONNECT_TIMEOUT, settings.BROKER_READ_TIMEOUT)

    def call(self, method: str, endpoint: str, json: Any = None) -> CallRecord:
        record = CallRecord(method=method, endpoint=endpoint)
        started = time.monotonic()
        try:
            response = self.session.request(
                method, self.base_url + endpoint, json=json, timeout=self.timeout
            )
        except requests.RequestException as error:
            record.error = error
        else:
            record.status = response.status_code
            record.text = response.text
            record.headers = dict(response.headers)
            try:
                record.body = response.json()
            except ValueError:
                record.body = response.text
        record.duration_ms = round((time.monotonic() - started) * 1000)
        return record
