"""The audit trail reads an object's entries from Django's admin log (bookings/audit.py:
the booking's timeline, its History, erasure): an index on the object and time keeps that
one probe however long the log grows. Django's table has only its foreign keys indexed."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("bookings", "0021_changed_sources_mark"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX admin_log_object_time ON django_admin_log "
            "(content_type_id, object_id, action_time)",
            "DROP INDEX admin_log_object_time",
        )
    ]
