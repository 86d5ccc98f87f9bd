import hashlib
import json

from django.db import migrations, models
from django.db.models import Q


def key_stored_events(apps, schema_editor):
    """Events stored before have no signed timestamp or body hash: the time they arrived
    and the hash of their stored body (an event id made each one unique) stand in."""
    WebhookEvent = apps.get_model("bookings", "WebhookEvent")
    for event in WebhookEvent.objects.iterator():
        body = json.dumps(event.payload, sort_keys=True) + event.event_id
        event.signed_at = event.received_at
        event.body_sha256 = hashlib.sha256(body.encode()).hexdigest()
        event.save(update_fields=["signed_at", "body_sha256"])


class Migration(migrations.Migration):
    """MSPECS's webhook events as MSPECS sends them: no event id, so a delivery is known by
    its signed timestamp and body hash; only what we act on is kept (not the body, which
    carries an access token)."""

    dependencies = [
        ('agencies', '0012_remove_mspecs_webhook_secret'),
        ('bookings', '0017_start_page_and_quarantine_indexes'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='webhookevent',
            name='one_event_per_agency',
        ),
        migrations.AddField(
            model_name='webhookevent',
            name='signed_at',
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name='webhookevent',
            name='body_sha256',
            field=models.CharField(default='', max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(key_stored_events, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='webhookevent',
            name='signed_at',
            field=models.DateTimeField(),
        ),
        migrations.RemoveField(
            model_name='webhookevent',
            name='event_id',
        ),
        migrations.RemoveField(
            model_name='webhookevent',
            name='payload',
        ),
        migrations.AddConstraint(
            model_name='webhookevent',
            constraint=models.UniqueConstraint(fields=('agency', 'signed_at', 'body_sha256'), name='one_event_per_delivery'),
        ),
        migrations.AddIndex(
            model_name='webhookevent',
            index=models.Index(condition=Q(processed_at__isnull=True), fields=['agency', 'source_id'], name='webhook_event_pending'),
        ),
    ]
