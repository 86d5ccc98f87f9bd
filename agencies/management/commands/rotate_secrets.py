from django.core.management.base import BaseCommand
from django.db import transaction

from agencies.models import ProviderCredential


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored provider secret with the first key in FIELD_ENCRYPTION_KEYS, "
        "so that older keys can then be removed."
    )

    @transaction.atomic
    def handle(self, **options):
        credentials = ProviderCredential.objects.select_for_update().only("pk", "secret")
        for credential in credentials:
            credential.save(update_fields=["secret"])  # saving always encrypts with the newest
        self.stdout.write(f"Re-encrypted {len(credentials)} secret(s) with the newest key.")
