"""Vitec Express (docs/vitec.md): the client, its contract (`contract/`) and the sandbox's
routes (`sandbox.py`, for tests and the demo only)."""

from pathlib import Path

from agencies.models import BrokerSystem
from bookings.providers.base import BrokerSystemPlugin
from bookings.providers.contracts import Contract
from bookings.providers.vitec.client import VitecClient

PLUGIN = BrokerSystemPlugin(
    system=BrokerSystem.VITEC,
    client_class=VitecClient,
    contract=Contract(Path(__file__).parent / "contract"),
    scheduled_source_reads=True,
)
