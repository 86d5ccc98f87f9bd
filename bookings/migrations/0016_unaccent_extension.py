"""PostgreSQL's unaccent extension, for the accent-insensitive booking search
(bookings/search.py). Django's operation does nothing on other databases; SQLite gets the
UNACCENT() function on each connection instead."""

from django.contrib.postgres.operations import UnaccentExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("bookings", "0015_booking_anonymised_at_and_data_requests")]

    operations = [UnaccentExtension()]
