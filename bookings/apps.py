from django.apps import AppConfig
from django.db.backends.signals import connection_created


class BookingsConfig(AppConfig):
    name = "bookings"
    verbose_name = "Bookings"

    def ready(self):
        from bookings.search import add_unaccent_to_sqlite

        connection_created.connect(add_unaccent_to_sqlite)
