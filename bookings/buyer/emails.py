"""The buyer's emails, each at most once per booking, in the buyer's language, through
Django's email framework (EMAIL_URL), from a task run after the change commits (never
inside a delivery call slot):

- the receipt when a booking is accepted: the private link, the calendar file and cancel,
  worded as the booking service's receipt, never as the provider's confirmation (which
  the provider sends itself, or not at all); unless the agency turned receipts off;
- the email when a booking cannot go ahead: rejected by the provider, failed, too late for
  its time, or cancelled by staff;
- the correction when a booking its buyer was told had failed reaches the provider after
  all (staff re-sent it).

None of them says it is the last: the correction may follow the failure. Each is claimed
with one conditional UPDATE of its own field on the booking (`receipt_sent_at`,
`buyer_notified_at`, `buyer_corrected_at`); the last two go only to buyers of agencies
that keep `buyer_emails_enabled`."""

from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import Q
from django.tasks import task
from django.template.loader import render_to_string
from django.utils import timezone, translation

from bookings.after_commit import enqueue_after_commit
from bookings.audit import CORRECTION, RECEIPT, Action, Actor, By, Door, record
from bookings.buyer.calendar import booking_calendar
from bookings.buyer.links import booking_page_path, email_links
from bookings.models import Booking
from bookings.providers import plugin_for

Status = Booking.Status


def notify_buyer(booking_id: int, status: str) -> None:
    """The booking just ended in `status` (one of Status.ended()): email its buyer once the current
    transaction commits. Only if it is still so when the email goes: a booking re-sent or
    cancelled by its buyer meanwhile gets none."""
    enqueue_after_commit(email_buyer, booking_id, str(status))


def send_receipt(booking_id: int) -> None:
    """The booking was just accepted: its buyer's receipt once the transaction commits."""
    enqueue_after_commit(email_receipt, booking_id)


def correct_buyer(booking: Booking) -> None:
    """`booking` was just delivered: if its buyer was told it could not go ahead, email
    them that it did after all, once the transaction commits."""
    if booking.buyer_notified_at is not None:
        enqueue_after_commit(email_correction, booking.pk)


@task()
def email_buyer(booking_id: int, status: str) -> bool:
    """The buyer's email when their booking ended in `status`."""
    return send_buyer_email(booking_id, status)


@task()
def email_receipt(booking_id: int) -> bool:
    return send_receipt_email(booking_id)


@task()
def email_correction(booking_id: int) -> bool:
    return send_correction_email(booking_id)


def send_buyer_email(booking_id: int, status: str) -> bool:
    """Send the email for a booking that ended in `status`, unless it has had it already,
    is no longer in that state, its buyer asked to cancel it, or its agency turned these
    emails off. Returns whether it was sent."""
    if status not in Status.ended():
        raise ValueError(f"not an end state: {status!r}")
    return send_once(
        booking_id,
        status,
        "buyer_notified_at",
        Q(status=status, viewing__agency__buyer_emails_enabled=True),
        ended_email,
    )


def send_receipt_email(booking_id: int) -> bool:
    """Send the receipt, unless it went already, the booking ended or its buyer asked to
    cancel before it could go, or the agency turned receipts off."""
    return send_once(
        booking_id,
        RECEIPT,
        "receipt_sent_at",
        ~Q(status__in=Status.ended()) & Q(viewing__agency__buyer_receipts_enabled=True),
        receipt_email,
    )


def send_correction_email(booking_id: int) -> bool:
    """Send the correction to a buyer told their booking could not go ahead, now that it is
    delivered; once, and only while it stays delivered."""
    return send_once(
        booking_id,
        CORRECTION,
        "buyer_corrected_at",
        Q(
            status=Status.DELIVERED,
            buyer_notified_at__isnull=False,
            viewing__agency__buyer_emails_enabled=True,
        ),
        correction_email,
    )


def send_once(
    booking_id: int,
    kind: str,
    sent_field: str,
    condition: Q,
    message: Callable[[Booking], EmailMessage],
) -> bool:
    """Claim `sent_field` where `condition` holds and the buyer has not asked to cancel,
    then send; a failed send frees the claim, so the task's retry can send it. `kind` is
    what the audit trail calls the email: the end status it tells of, RECEIPT or
    CORRECTION."""
    claimed_at = timezone.now()
    claimed = (
        Booking.objects.filter(condition, pk=booking_id, cancellation_requested_at__isnull=True)
        .filter(**{f"{sent_field}__isnull": True})
        .update(**{sent_field: claimed_at})
    )
    if not claimed:
        return False
    booking = (
        # Only the credential's confirmation flags are read: its secret stays encrypted.
        Booking.objects.select_related("viewing__agency__credential", "slot")
        .defer("viewing__agency__credential__secret")
        .get(pk=booking_id)
    )
    try:
        message(booking).send()
    except Exception:
        Booking.objects.filter(pk=booking_id, **{sent_field: claimed_at}).update(
            **{sent_field: None}
        )
        raise
    # The one place an email to a buyer is recorded: its kind, when, for which booking.
    record(By(Actor.SYSTEM, Door.WORKER, {"kind": kind}), [booking], Action.EMAIL)
    return True


def email_context(booking: Booking) -> dict:
    starts_at, ends_at = booking.booked_time
    agency = booking.agency
    return {
        "booking": booking,
        "agency_name": agency.name_for_buyers,
        "viewing": booking.viewing,
        "starts_at": starts_at,
        "ends_at": ends_at,
        # What the provider does once it has the booking (as on the status page).
        "confirmation": plugin_for(agency.provider).buyer_confirmation(
            getattr(agency, "credential", None)
        ),
        **email_links(booking),
    }


def render_email(booking: Booking, template: str, context: dict) -> EmailMessage:
    """bookings/emails/<template>.txt and its _subject.txt, in the buyer's language."""
    with translation.override(booking.language):
        subject = render_to_string(f"bookings/emails/{template}_subject.txt", context)
        body = render_to_string(f"bookings/emails/{template}.txt", context)
    return EmailMessage(
        subject=" ".join(subject.split()),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[booking.email],
    )


def with_calendar_file(booking: Booking, template: str) -> EmailMessage:
    """The email, with the booking's calendar file attached as it stands now."""
    context = email_context(booking)
    email = render_email(booking, template, context)
    with translation.override(booking.language):
        name, body = booking_calendar(booking, context["status_link"])
    email.attach(name, body, "text/calendar")
    return email


def receipt_email(booking: Booking) -> EmailMessage:
    return with_calendar_file(booking, "booking_received")


def ended_email(booking: Booking) -> EmailMessage:
    booking_page = booking_page_path(booking.viewing)
    return render_email(
        booking,
        "booking_ended",
        {
            **email_context(booking),
            # The template words the two ends apart by this flag, never by the status itself.
            "cancelled": booking.status == Status.CANCELLED,
            "booking_page_link": booking_page and settings.SITE_URL + booking_page,
        },
    )


def correction_email(booking: Booking) -> EmailMessage:
    return with_calendar_file(booking, "booking_delivered_after_all")
