"""The audit trail writes an admin log entry per booking acted on (bookings/audit.py), so
Django's table, indexed only on its foreign keys, grows with every bulk action. Two reads
stay one probe however long it grows: an object's entries by time (the booking's timeline,
its History, erasure) and a user's newest (the admin start page's Recent actions)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("bookings", "0023_coalesced_webhook_events"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX admin_log_object_time ON django_admin_log "
            "(content_type_id, object_id, action_time)",
            "DROP INDEX admin_log_object_time",
        ),
        migrations.RunSQL(
            "CREATE INDEX admin_log_user_time ON django_admin_log (user_id, action_time)",
            "DROP INDEX admin_log_user_time",
        ),
    ]
