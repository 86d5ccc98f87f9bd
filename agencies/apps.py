from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class AgenciesConfig(AppConfig):
    name = "agencies"
    verbose_name = _("Agencies")

    def ready(self):
        from agencies.checks import check_field_encryption_keys

        checks.register(check_field_encryption_keys, checks.Tags.security)
