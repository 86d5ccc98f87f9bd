"""The one email a buyer gets when their booking cannot go ahead: rejected by the broker
system, failed, too late for its time, or cancelled by staff. In the buyer's language,
through Django's email framework (EMAIL_URL), from a task run after the change commits:
never inside a delivery call slot. Never more than one per booking
(`Booking.buyer_notified_at`, claimed with one conditional UPDATE), and none for agencies
that turned them off."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.tasks import task
from django.template.loader import render_to_string
from django.utils import timezone, translation

from bookings.after_commit import enqueue_after_commit
from bookings.audit import Action, Actor, By, Door, record
from bookings.buyer.links import booking_page_path, status_link
from bookings.models import Booking

Status = Booking.Status


def notify_buyer(booking_id: int, status: str) -> None:
    """The booking just ended in `status` (one of Status.ended()): email its buyer once the current
    transaction commits. Only if it is still so when the email goes: a booking re-sent or
    cancelled by its buyer meanwhile gets none."""
    enqueue_after_commit(email_buyer, booking_id, str(status))


@task()
def email_buyer(booking_id: int, status: str) -> bool:
    """The buyer's one email when their booking ended in `status`."""
    return send_buyer_email(booking_id, status)


def send_buyer_email(booking_id: int, status: str) -> bool:
    """Send the email for a booking that ended in `status`, unless it has had its one
    already, is no longer in that state, its buyer asked to cancel it, or its agency turned
    these emails off. Returns whether it was sent."""
    if status not in Status.ended():
        raise ValueError(f"not an end state: {status!r}")
    claimed_at = timezone.now()
    claimed = Booking.objects.filter(
        pk=booking_id,
        status=status,
        buyer_notified_at__isnull=True,
        cancellation_requested_at__isnull=True,
        viewing__agency__buyer_emails_enabled=True,
    ).update(buyer_notified_at=claimed_at)
    if not claimed:
        return False
    booking = Booking.objects.select_related("viewing__agency", "slot").get(pk=booking_id)
    try:
        buyer_email(booking).send()
    except Exception:
        # Not sent: free the claim, so the task's retry (or a later end) can send it.
        Booking.objects.filter(pk=booking_id, buyer_notified_at=claimed_at).update(
            buyer_notified_at=None
        )
        raise
    # The one place an email to a buyer is recorded: its kind, when, for which booking.
    record(By(Actor.SYSTEM, Door.WORKER, {"kind": status}), [booking], Action.EMAIL)
    return True


def buyer_email(booking: Booking) -> EmailMessage:
    starts_at, ends_at = booking.booked_time
    booking_page = booking_page_path(booking.viewing)
    context = {
        "booking": booking,
        # The template words the two ends apart by this flag, never by the status itself.
        "cancelled": booking.status == Status.CANCELLED,
        "agency_name": booking.agency.name_for_buyers,
        "viewing": booking.viewing,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "booking_page_link": booking_page and settings.SITE_URL + booking_page,
        "status_link": status_link(booking),
    }
    with translation.override(booking.language):
        subject = render_to_string("bookings/emails/booking_ended_subject.txt", context)
        body = render_to_string("bookings/emails/booking_ended.txt", context)
    return EmailMessage(
        subject=" ".join(subject.split()),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[booking.email],
    )
