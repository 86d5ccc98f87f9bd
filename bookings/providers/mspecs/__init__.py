"""MSPECS (docs/mspecs.md): the client, its contract (`contract/`) and the sandbox's routes
(`sandbox.py`, for tests and the demo only)."""

from agencies.models import AuthScheme, MspecsApi, Provider
from bookings.providers.base import BuyerConfirmation, ProviderPlugin
from bookings.providers.mspecs.client import MspecsClient
from bookings.providers.mspecs.schemas import CONTRACT

PLUGIN = ProviderPlugin(
    system=Provider.MSPECS,
    client_class=MspecsClient,
    contract=CONTRACT,
    # MSPECS emails every buyer it is sent, asking them to confirm; a broker then approves
    # them from the quarantine (docs/mspecs.md).
    buyer_confirmation=lambda credential: BuyerConfirmation.EMAIL_TO_CONFIRM_THEN_APPROVAL,
    delivery_schema="external_viewer",
    polls_slot_status=True,
    has_quarantine=True,
    scheduled_source_reads=False,
    pushes_source_events=True,
    # An access token generated in MSPECS, or a user name and password (docs/mspecs.md).
    auth_schemes=(AuthScheme.BASIC, AuthScheme.BEARER),
    # The provider API answers every call without the subscriber-id header with 400.
    needs_subscriber_id=lambda credential: credential.mspecs_api == MspecsApi.PROVIDER,
)
