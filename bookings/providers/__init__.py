"""The broker systems, one plug-in each (a folder beside this file, registered on one line
below): its client, contract, sandbox routes and what it can do (base.BrokerSystemPlugin)."""

import threading

from agencies.models import ProviderCredential
from bookings.broker_systems import PLUGINS
from bookings.providers import mspecs, vitec
from bookings.providers.base import BrokerSystemPlugin, ProviderClient

# The ground floor's table (bookings/broker_systems.py), so the models see every plug-in.
PLUGINS.update(
    {
        plugin.system: plugin
        for plugin in (
            mspecs.PLUGIN,
            vitec.PLUGIN,
        )
    }
)
CLIENT_CLASSES: dict[str, type[ProviderClient]] = {
    system: plugin.client_class for system, plugin in PLUGINS.items()
}


def plugin_for(broker_system: str) -> BrokerSystemPlugin:
    """The plug-in of a broker system (an Agency's `broker_system`)."""
    return PLUGINS[broker_system]


def systems_with(capability: str) -> list[str]:
    """The broker systems whose plug-in has `capability` (a BrokerSystemPlugin flag, e.g.
    "has_quarantine"), for queries over the agencies it concerns
    (`agency__broker_system__in=systems_with(...)`)."""
    return [system for system, plugin in PLUGINS.items() if getattr(plugin, capability)]


# One client (and so one HTTP session with its open connections) per credential and
# process, replaced when the credential is saved again.
_clients: dict[tuple[int, object], ProviderClient] = {}
_clients_lock = threading.Lock()


def client_for(credential: ProviderCredential) -> ProviderClient:
    key = (credential.pk, credential.updated_at)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            for stale in [k for k in _clients if k[0] == credential.pk]:
                _clients.pop(stale).session.close()
            client_class = CLIENT_CLASSES[credential.agency.broker_system]
            client = _clients[key] = client_class.for_credential(credential)
        return client
