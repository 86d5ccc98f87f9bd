from django.db import migrations, models

LIVE_STATUSES = [
    "queued",
    "sending",
    "retrying",
    "held",
    "needs_review",
    "probably_delivered",
    "delivered",
]
MESSAGE = (
    "A booking for this viewing with this email address has already been received: one "
    "booking per person and viewing, whatever the time."
)


def set_aside_second_live_bookings(apps, schema_editor):
    """Until now a buyer could hold one live booking in each slot of a viewing: keep one per
    buyer and viewing, the delivered one if there is one, else the earliest, and cancel the
    others saying why (bookings.delivery.problems.SET_ASIDE_SECOND_LIVE_BOOKING)."""
    Booking = apps.get_model("bookings", "Booking")
    kept = {}
    live = Booking.objects.filter(status__in=LIVE_STATUSES).order_by("created_at", "pk")
    for booking in live.only("pk", "viewing_id", "email", "status").iterator():
        key = (booking.viewing_id, booking.email)
        earlier = kept.get(key)
        if earlier is None or (booking.status == "delivered" and earlier.status != "delivered"):
            kept[key] = booking
            if earlier is None:
                continue
            booking, earlier = earlier, booking
        Booking.objects.filter(pk=booking.pk).update(
            status="cancelled",
            next_attempt_at=None,
            last_problem={
                "code": "set_aside_second_live_booking",
                "params": {"booking": earlier.pk},
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0019_viewing_date_only_and_hidden_times"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="booking",
            name="one_live_booking_per_slot",
        ),
        migrations.RemoveConstraint(
            model_name="booking",
            name="one_live_booking_per_viewing_without_slots",
        ),
        migrations.RunPython(set_aside_second_live_bookings, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="booking",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status__in", LIVE_STATUSES)),
                fields=("viewing", "email"),
                name="one_live_booking_per_viewing",
                violation_error_code="duplicate_booking",
                violation_error_message=MESSAGE,
            ),
        ),
    ]
