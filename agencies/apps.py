from django.apps import AppConfig
from django.core import checks


class AgenciesConfig(AppConfig):
    name = "agencies"
    verbose_name = "Agencies"

    def ready(self):
        from agencies.checks import check_field_encryption_keys

        checks.register(check_field_encryption_keys, checks.Tags.security)
