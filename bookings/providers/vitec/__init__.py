"""Vitec Express (docs/vitec.md): the client, its contract (`contract/`) and the sandbox's
routes (`sandbox.py`, for tests and the demo only)."""

from agencies.models import BrokerSystem
from bookings.providers.base import BrokerSystemPlugin
from bookings.providers.vitec.client import CONTRACT, VitecClient

PLUGIN = BrokerSystemPlugin(
    system=BrokerSystem.VITEC,
    client_class=VitecClient,
    contract=CONTRACT,
    lists_changed_sources=True,
)
