from django.db import migrations


class Migration(migrations.Migration):
    """MSPECS keeps one webhook secret per provider account, set by the operator
    (MSPECS_WEBHOOK_SECRET), not one per agency."""

    dependencies = [
        ('agencies', '0011_agency_booking_retention_days'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='providercredential',
            name='mspecs_webhook_secret',
        ),
    ]
