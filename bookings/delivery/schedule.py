"""The booking row is the delivery schedule (`status`, `next_attempt_at`, `claimed_until`).

A task is only a wake-up call: "look at booking N now". Whoever changes a row so that it
is due wakes delivery with `wake_delivery` (intake, staff actions, resumes); a retry only
sets `next_attempt_at`, and the periodic dispatcher (`dispatch_due`, run by crontask)
wakes what has come due or was woken and never picked up. A woken booking that is no
longer due is skipped by its worker's claim, so a second wake-up never sends twice.
Nothing here reads the task backend's tables: any backend of Django's Tasks API will do.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from bookings.after_commit import enqueue_after_commit
from bookings.models import Booking

# Rows the dispatcher locks and wakes per transaction: a bounded lock set, however big
# the backlog.
DISPATCH_BATCH = 500

# The delivery task runs the sender, and sending wakes further bookings (a circuit that
# closes, a credential that works again): a loop at run time, not in the imports. The
# schedule names the task by its path, as the task backend's worker finds it, so every
# import in bookings/delivery/ runs down to here (tests/test_app_boundaries.py).
DELIVERY_TASK = "bookings.delivery.tasks.deliver_booking"


def due_filter(now) -> Q:
    return Q(status__in=Booking.Status.waiting()) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def wake_delivery(booking_id: int) -> None:
    """Have a worker deliver the booking once the current transaction commits (at once
    outside one), so a worker never looks for a row that is not there yet."""
    enqueue_after_commit(import_string(DELIVERY_TASK), booking_id)


def dispatch_due() -> int:
    """Wake every due booking that was not touched for DELIVERY_SWEEP_GRACE seconds: a
    retry whose time has come, or a booking whose wake-up was lost (a killed worker, a
    failed enqueue). Each one woken is touched, so the next run leaves it to its task for
    another grace period. SKIP LOCKED (PostgreSQL): two dispatchers, or a dispatcher and
    a staff action, never wait for each other's rows."""
    woken = 0
    while True:
        now = timezone.now()
        grace = now - timedelta(seconds=settings.DELIVERY_SWEEP_GRACE)
        with transaction.atomic():
            batch = list(
                Booking.objects.select_for_update(skip_locked=True)
                .filter(due_filter(now), updated_at__lte=grace)
                .order_by("pk")
                .values_list("pk", flat=True)[:DISPATCH_BATCH]
            )
            Booking.objects.filter(pk__in=batch).update(updated_at=now)
            for booking_id in batch:
                wake_delivery(booking_id)
        woken += len(batch)
        if len(batch) < DISPATCH_BATCH:
            return woken
