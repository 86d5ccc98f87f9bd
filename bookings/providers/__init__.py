"""One client class per broker system, all the same shape (see base.ProviderClient)."""

import threading

from agencies.models import BrokerSystem, ProviderCredential
from bookings.providers.base import ProviderClient
from bookings.providers.mspecs import MspecsClient
from bookings.providers.vitec import VitecClient

CLIENT_CLASSES: dict[str, type[ProviderClient]] = {
    BrokerSystem.MSPECS: MspecsClient,
    BrokerSystem.VITEC: VitecClient,
}

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
            client = _clients[key] = client_class(credential)
        return client
