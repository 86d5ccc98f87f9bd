"""Vitec Express (docs/vitec.md): the client, its contract (`contract/`) and the sandbox's
routes (`sandbox.py`, for tests and the demo only)."""

from agencies.models import Provider, ProviderCredential
from bookings.providers.base import BuyerConfirmation, ProviderPlugin
from bookings.providers.vitec.client import CONTRACT, VitecClient


def buyer_confirmation(credential: ProviderCredential | None) -> BuyerConfirmation:
    """Vitec confirms by email and/or text message as the agency's credential asks it to
    (mailConfirmation, smsConfirmation in the request); by email when there is none yet."""
    by_email = credential is None or credential.vitec_mail_confirmation
    by_sms = credential is not None and credential.vitec_sms_confirmation
    if by_email and by_sms:
        return BuyerConfirmation.EMAIL_AND_SMS
    if by_email:
        return BuyerConfirmation.EMAIL
    return BuyerConfirmation.SMS if by_sms else BuyerConfirmation.NONE


PLUGIN = ProviderPlugin(
    system=Provider.VITEC,
    client_class=VitecClient,
    contract=CONTRACT,
    scheduled_source_reads=True,
    lists_changed_sources=True,
    buyer_confirmation=buyer_confirmation,
    # Of the fields we send, Vitec's swagger limits only the email (docs/vitec.md, "Field
    # lengths").
    delivery_schema="participant",
    every_viewing_has_slots=True,
    needs_customer_id=True,
)
