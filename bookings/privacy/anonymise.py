"""What erasing a buyer's personal data does to the rows that hold it, shared by an
erasure request and retention: names, email, phone, message and everything echoed from
them are replaced, while the booking's statistics (status, times, agency, viewing, source,
attempts) stay."""

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Case, CharField, F, TextField, Value, When
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from bookings.audit import By, audit_entries
from bookings.delivery import staff_actions
from bookings.models import Booking, DeliveryAttempt, QuarantineDecision

# Under the reserved .invalid domain (RFC 2606): never a real address. Unique per row,
# so the one-live-booking constraints and the quarantine decisions' uniqueness still hold.
ERASED_DOMAIN = "erased.invalid"
ERASED = "[erased]"


def erased_email(prefix: str):
    return Concat(Value(f"{prefix}-"), Cast("pk", CharField()), Value(f"@{ERASED_DOMAIN}"))


UNDELIVERED = [*Booking.Status.waiting(), *Booking.Status.stopped()]


def cancel_undelivered(bookings, by: By) -> int:
    """Bookings not delivered (waiting, held, stopped) are cancelled first: once their data
    is gone nothing may send them (a held booking resumes by itself, a stopped one on
    Re-send). Through the staff action's conditional update, so a worker claiming one
    meanwhile is not overtaken."""
    # No email to the buyer: the address is about to be erased (or kept no longer).
    return staff_actions.cancel(bookings.filter(status__in=UNDELIVERED), by, tell_buyer=False).done


def anonymise_bookings(bookings) -> int:
    """Anonymise these bookings (not being sent right now) and what records them: their
    delivery attempts' excerpts and their admin log entries. Their Idempotency-Key records
    hold keyed digests only (bookings/models/intake.py) and stay, so that a key never
    answers for another request. Returns how many bookings."""
    ids = list(
        bookings.exclude(status=Booking.Status.SENDING)
        .filter(anonymised_at__isnull=True)
        .values_list("pk", flat=True)
    )
    if not ids:
        return 0
    DeliveryAttempt.objects.filter(booking_id__in=ids).update(response_excerpt="")
    erase_log_entries(Booking, ids)
    return Booking.objects.filter(pk__in=ids, anonymised_at__isnull=True).update(
        first_name="",
        last_name="",
        email=erased_email("booking"),
        phone="",
        message="",
        provider_errors={},
        last_problem=None,
        anonymised_at=timezone.now(),
        updated_at=timezone.now(),
    )


def anonymise_decisions(decisions) -> int:
    ids = list(decisions.exclude(email__endswith=f"@{ERASED_DOMAIN}").values_list("pk", flat=True))
    erase_log_entries(QuarantineDecision, ids)
    return QuarantineDecision.objects.filter(pk__in=ids).update(email=erased_email("decision"))


def erase_log_entries(model, ids) -> int:
    """The admin log keeps that an object was added or changed, and when, but not how it
    was named (its __str__ holds the buyer's name or email) nor Django's change message
    (which may name inline rows); the audit trail's messages hold codes only and stay."""
    if not ids:
        return 0
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(model),
        object_id__in=[str(pk) for pk in ids],
    ).update(
        object_repr=Concat(Value(f"{ERASED} #"), F("object_id")),
        change_message=Case(
            When(audit_entries(), then=F("change_message")),
            default=Value(""),
            output_field=TextField(),
        ),
    )
