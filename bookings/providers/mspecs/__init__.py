"""MSPECS (docs/mspecs.md): the client, its contract (`contract/`) and the sandbox's routes
(`sandbox.py`, for tests and the demo only)."""

from agencies.models import BrokerSystem
from bookings.providers.base import BrokerSystemPlugin
from bookings.providers.mspecs.client import CONTRACT, MspecsClient

PLUGIN = BrokerSystemPlugin(
    system=BrokerSystem.MSPECS,
    client_class=MspecsClient,
    contract=CONTRACT,
    polls_slot_status=True,
    has_quarantine=True,
)
