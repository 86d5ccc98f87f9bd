"""MSPECS (docs/mspecs.md): the client, its contract (`contract/`) and the sandbox's routes
(`sandbox.py`, for tests and the demo only)."""

from pathlib import Path

from agencies.models import BrokerSystem
from bookings.providers.base import BrokerSystemPlugin
from bookings.providers.contracts import Contract
from bookings.providers.mspecs.client import MspecsClient

PLUGIN = BrokerSystemPlugin(
    system=BrokerSystem.MSPECS,
    client_class=MspecsClient,
    contract=Contract(Path(__file__).parent / "contract"),
    polls_slot_status=True,
    has_quarantine=True,
)
