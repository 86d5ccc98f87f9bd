"""The providers, one plug-in each (a folder beside this file, registered on one line
below): its client, contract, sandbox routes and what it can do (base.ProviderPlugin)."""

import threading

from agencies.models import ProviderCredential
from bookings.provider_capabilities import PLUGINS
from bookings.providers import mspecs, vitec
from bookings.providers.base import ProviderClient, ProviderPlugin

# The ground floor's table (bookings/provider_capabilities.py), so the models see every plug-in.
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


def plugin_for(provider: str) -> ProviderPlugin:
    """The plug-in of a provider (an Agency's `provider`)."""
    return PLUGINS[provider]


def systems_with(capability: str) -> list[str]:
    """The providers whose plug-in has `capability` (a ProviderPlugin flag, e.g.
    "has_quarantine"), for queries over the agencies it concerns
    (`agency__provider__in=systems_with(...)`)."""
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
            client_class = CLIENT_CLASSES[credential.agency.provider]
            client = _clients[key] = client_class.for_credential(credential)
        return client
