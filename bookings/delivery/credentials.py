"""Bookings reacting to changes in other apps' data."""

from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from agencies.models import CredentialStatus, ProviderCredential
from agencies.problems import CHANGED_AFTER_FAILING
from bookings.delivery import engine

# What decides whether the broker system accepts the credential.
CONNECTION_FIELDS = ["base_url", "username", "secret", "vitec_customer_id"]


@receiver(pre_save, sender=ProviderCredential)
def untest_corrected_credential(sender, instance, update_fields=None, **kwargs):
    """A failing credential whose connection details were edited is no longer known to
    fail: it becomes untested again, so its held bookings can go (below)."""
    if instance.pk is None or instance.status != CredentialStatus.FAILING:
        return
    if update_fields is not None and not set(update_fields) & set(CONNECTION_FIELDS):
        return
    stored = ProviderCredential.objects.filter(pk=instance.pk).values(*CONNECTION_FIELDS).first()
    if stored and any(stored[name] != getattr(instance, name) for name in CONNECTION_FIELDS):
        instance.status = CredentialStatus.UNTESTED
        instance.status_problem = CHANGED_AFTER_FAILING()


@receiver(post_save, sender=ProviderCredential)
def resume_bookings_of_saved_credential(sender, instance, update_fields=None, **kwargs):
    """Saving a credential that is not failing (e.g. corrected in the admin) sends the
    agency's held bookings again; status-only saves (mark_status) do not."""
    if update_fields is None and instance.status != CredentialStatus.FAILING:
        engine.resume_held(instance.agency_id)
