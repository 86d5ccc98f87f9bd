from django.db import migrations, models

from bookings.models.intake import UNKNOWN_REQUEST, idempotency_key_digest


def digest_keys(apps, schema_editor):
    """Keys may hold personal data (`gdpr-<email>`): each becomes its keyed digest, the one
    the API looks keys up by. The old unkeyed request hashes cannot be compared with the
    keyed ones requests now get: a retry under such a key is refused as unknown."""
    IdempotentRequest = apps.get_model("bookings", "IdempotentRequest")
    for record in IdempotentRequest.objects.only("pk", "key_digest").iterator():
        IdempotentRequest.objects.filter(pk=record.pk).update(
            key_digest=idempotency_key_digest(record.key_digest),
            request_fingerprint=UNKNOWN_REQUEST,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0021_changed_sources_mark"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="idempotentrequest",
            name="unique_idempotency_key",
        ),
        migrations.RenameField(
            model_name="idempotentrequest",
            old_name="key",
            new_name="key_digest",
        ),
        migrations.RunPython(digest_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="idempotentrequest",
            name="key_digest",
            field=models.CharField(max_length=64, verbose_name="idempotency key digest"),
        ),
        migrations.AddConstraint(
            model_name="idempotentrequest",
            constraint=models.UniqueConstraint(
                fields=("api_key", "key_digest"), name="unique_idempotency_key"
            ),
        ),
    ]
