from django.db import migrations, models


def demo_imports_to_public_page(apps, schema_editor):
    """Only `manage.py demo` ever wrote "import" (there is no importer); it now writes
    "public", so its earlier bookings say the same."""
    Booking = apps.get_model("bookings", "Booking")
    Booking.objects.filter(source="import").update(source="public")


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0006_delivery_attempt_outcome_choices"),
    ]

    operations = [
        migrations.RunPython(demo_imports_to_public_page, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="booking",
            name="source",
            field=models.CharField(
                choices=[
                    ("admin", "Admin"),
                    ("public", "Public booking page"),
                    ("api", "Intake API"),
                ],
                default="admin",
                max_length=10,
            ),
        ),
    ]
