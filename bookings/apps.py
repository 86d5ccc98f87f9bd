from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _


class BookingsConfig(AppConfig):
    name = "bookings"
    verbose_name = _("Bookings")

    def ready(self):
        # Registers the providers' plug-ins where the models find them
        # (bookings/provider_capabilities.py).
        import bookings.providers  # noqa: F401
        from bookings.search import add_unaccent_to_sqlite

        connection_created.connect(add_unaccent_to_sqlite)
