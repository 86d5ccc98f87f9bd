"""Data-subject requests: everything stored under one buyer's email in the given agencies
(a superuser's: all; an agency administrator's: the ones they administer), exported for an
access request or erased in one audited step."""

import csv
import json
from collections import Counter
from dataclasses import dataclass
from typing import TextIO

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency, Membership
from bookings.audit import Action, Actor, By, Door, record
from bookings.models import (
    Booking,
    DataRequest,
    DeliveryAttempt,
    IdempotentRequest,
    QuarantineDecision,
)
from bookings.privacy.anonymise import anonymise_bookings, anonymise_decisions, cancel_undelivered
from bookings.quarantine.queries import spreadsheet_text

# The kinds of rows a buyer's email reaches, in the order shown and exported.
KINDS = {
    "bookings": _("Bookings"),
    "delivery_attempts": _("Delivery attempts"),
    "quarantine_decisions": _("Quarantine decisions"),
    "admin_log_entries": _("Admin log entries"),
    "idempotency_records": _("Idempotency-Key records"),
}
BOOKING_FIELDS = [
    *("id", "viewing_id", "slot_id", "first_name", "last_name", "email", "phone"),
    *("message", "source", "language", "status", "attempt_count", "provider_errors"),
    *("provider_reference", "created_at", "updated_at", "delivered_at"),
    # What the buyer agreed to, and what they asked and were told.
    *("consent_given_at", "consent_text_version", "lawful_basis"),
    *("cancellation_requested_at", "receipt_sent_at", "buyer_notified_at", "buyer_corrected_at"),
]
ATTEMPT_FIELDS = [
    *("id", "booking_id", "started_at", "endpoint", "url", "http_status", "duration_ms"),
    *("outcome", "response_excerpt"),
]
DECISION_FIELDS = ["id", "viewing_id", "email", "decision", "decided_at"]
LOG_FIELDS = ["id", "action_time", "object_id", "object_repr", "action_flag", "change_message"]
IDEMPOTENCY_FIELDS = ["id", "key_digest", "response_status", "response_body", "created_at"]


def normalise_email(email: str) -> str:
    """As bookings store it (Booking.clean): trimmed and lower-cased."""
    return email.strip().lower()


def email_digest(email: str) -> str:
    """A keyed hash of the email for the audit record: whoever holds the SECRET_KEY can
    check whether an email was handled, nobody can read one back."""
    return salted_hmac(
        "bookings.privacy.email", normalise_email(email), algorithm="sha256"
    ).hexdigest()


@dataclass
class BuyerData:
    """The rows under one email in some agencies, as querysets (nothing fetched yet)."""

    email: str
    agencies: QuerySet

    def __post_init__(self):
        self.email = normalise_email(self.email)

    def bookings(self) -> QuerySet:
        # iexact: rows stored before emails were normalised are the buyer's too.
        return Booking.objects.filter(
            viewing__agency__in=self.agencies, email__iexact=self.email, anonymised_at__isnull=True
        )

    def delivery_attempts(self) -> QuerySet:
        return DeliveryAttempt.objects.filter(booking__in=self.bookings())

    def quarantine_decisions(self) -> QuerySet:
        return QuarantineDecision.objects.filter(
            viewing__agency__in=self.agencies, email__iexact=self.email
        )

    def admin_log_entries(self) -> QuerySet:
        def of(model, ids):
            content_type = ContentType.objects.get_for_model(model)
            return Q(content_type=content_type, object_id__in=[str(pk) for pk in ids])

        booking_ids = self.bookings().values_list("pk", flat=True)
        decision_ids = self.quarantine_decisions().values_list("pk", flat=True)
        return LogEntry.objects.filter(
            of(Booking, booking_ids) | of(QuarantineDecision, decision_ids)
        )

    def idempotency_records(self) -> QuerySet:
        return IdempotentRequest.objects.filter(
            api_key__agency__in=self.agencies,
            response_body__id__in=list(self.bookings().values_list("pk", flat=True)),
        )

    def rows(self, kind: str) -> QuerySet:
        return getattr(self, kind)()

    def counts_by_agency(self) -> dict[Agency, Counter]:
        """How many rows of each kind every agency holds (only agencies holding some)."""
        paths = {
            "bookings": "viewing__agency",
            "delivery_attempts": "booking__viewing__agency",
            "quarantine_decisions": "viewing__agency",
            "idempotency_records": "api_key__agency",
        }
        counts: dict[int, Counter] = {}
        for kind, path in paths.items():
            for agency_id in self.rows(kind).values_list(path, flat=True):
                counts.setdefault(agency_id, Counter())[kind] += 1
        owners = {
            ContentType.objects.get_for_model(model).pk: dict(
                self.rows(kind).values_list("pk", "viewing__agency")
            )
            for model, kind in ((Booking, "bookings"), (QuarantineDecision, "quarantine_decisions"))
        }
        for content_type_id, object_id in self.admin_log_entries().values_list(
            "content_type_id", "object_id"
        ):
            agency_id = owners[content_type_id][int(object_id)]
            counts.setdefault(agency_id, Counter())["admin_log_entries"] += 1
        agencies = Agency.objects.in_bulk(counts)
        return {agencies[agency_id]: counts[agency_id] for agency_id in sorted(counts)}


def agencies_for_admin(user) -> QuerySet:
    """The agencies whose buyers' data `user` may export and erase: all for a superuser,
    else those they administer (staff of an agency may not)."""
    if user.is_superuser:
        return Agency.objects.all()
    return Agency.objects.filter(memberships__user=user, memberships__role=Membership.Role.ADMIN)


def audit(kind: str, data: BuyerData, counts: dict[Agency, Counter], *, user, channel) -> None:
    DataRequest.objects.bulk_create(
        DataRequest(
            kind=kind,
            agency=agency,
            performed_by=user,
            channel=channel,
            email_digest=email_digest(data.email),
            counts=dict(agency_counts),
        )
        for agency, agency_counts in counts.items()
    )


def erase(data: BuyerData, *, user=None, channel=DataRequest.Channel.ADMIN, dry_run=False):
    """Anonymise every row under the email in one transaction and record it per agency:
    bookings not delivered are cancelled first (cancel_undelivered); one being sent right now is
    left out (counted as `being_sent`), to be erased once its call ends. Each booking erased
    records it in the audit trail. Returns the counts per agency (what would be done, on a
    dry run)."""
    by = By(actor(user), Door.ERASURE).resolved()
    with transaction.atomic():
        counts = data.counts_by_agency()
        if dry_run:
            return counts
        for agency, agency_counts in counts.items():
            bookings = data.bookings().filter(viewing__agency=agency)
            agency_counts["cancelled"] = cancel_undelivered(bookings, by)
            agency_counts["being_sent"] = bookings.filter(status=Booking.Status.SENDING).count()
            erased = list(
                bookings.exclude(status=Booking.Status.SENDING).values_list("pk", flat=True)
            )
            # Attempts and log entries first: they are found through the bookings' email.
            anonymise_bookings(bookings)
            record(by, Booking.objects.filter(pk__in=erased), Action.ERASE)
        anonymise_decisions(data.quarantine_decisions())
        audit(DataRequest.Kind.ERASURE, data, counts, user=user, channel=channel)
    return counts


FIELDS = {
    "bookings": BOOKING_FIELDS,
    "delivery_attempts": ATTEMPT_FIELDS,
    "quarantine_decisions": DECISION_FIELDS,
    "admin_log_entries": LOG_FIELDS,
    "idempotency_records": IDEMPOTENCY_FIELDS,
}
MODELS = {
    "bookings": Booking,
    "delivery_attempts": DeliveryAttempt,
    "quarantine_decisions": QuarantineDecision,
    "admin_log_entries": LogEntry,
    "idempotency_records": IdempotentRequest,
}


def field_label(kind: str, name: str) -> str:
    """A field's name as staff read it, in their language."""
    return str(MODELS[kind]._meta.get_field(name).verbose_name)


def export_records(data: BuyerData) -> dict:
    """Everything stored under the email, kind by kind, as JSON-ready dicts."""
    return {
        "email": data.email,
        "exported_at": timezone.now(),
        **{
            kind: [dict(row) for row in data.rows(kind).order_by("pk").values(*FIELDS[kind])]
            for kind in KINDS
        },
    }


def record_export(data: BuyerData, *, user, channel=DataRequest.Channel.ADMIN) -> None:
    audit(DataRequest.Kind.EXPORT, data, data.counts_by_agency(), user=user, channel=channel)
    record(By(actor(user), Door.ACCESS), data.bookings(), Action.EXPORT)


def actor(user):
    """Who the audit trail names: the staff member, or with none (the DataRequest's
    performed_by is then empty too) the operator running the management command."""
    return Actor.OPERATOR if user is None else user


def write_json(out: TextIO, data: BuyerData) -> None:
    json.dump(export_records(data), out, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)


CSV_HEADER = [_("Kind of record"), _("Id"), _("Field"), _("Value")]


def write_csv(out: TextIO, data: BuyerData) -> None:
    """The export as one table, a line per stored value, every cell quoted and safe to
    open in a spreadsheet: the values come from the buyer."""
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow([str(header) for header in CSV_HEADER])
    records = export_records(data)
    for kind, label in KINDS.items():
        for row in records[kind]:
            for field, value in row.items():
                if isinstance(value, dict | list):
                    value = json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
                cells = [label, row["id"], field_label(kind, field), "" if value is None else value]
                writer.writerow([spreadsheet_text(cell) for cell in cells])
