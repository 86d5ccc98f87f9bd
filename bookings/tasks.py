"""Background tasks, run by `manage.py db_worker` through Django's Tasks API."""

from django.tasks import task

from bookings import delivery


@task()
def deliver_booking(booking_id: int) -> str:
    return delivery.deliver(booking_id)


def enqueue_delivery(booking_id: int) -> None:
    deliver_booking.enqueue(booking_id)
