import unicodedata
import uuid

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency, AgencyScopedQuerySet, BrokerSystem
from agencies.problems import ProblemField
from agencies.validators import validate_provider_id
from bookings.delivery import problems
from bookings.phones import normalise_phone


class ViewingQuerySet(AgencyScopedQuerySet):
    def bookable(self, now=None):
        """Open viewings of active agencies that have not ended: the ones buyers can book."""
        return self.filter(is_open=True, agency__is_active=True, ends_at__gt=now or timezone.now())


class Viewing(models.Model):
    class Type(models.TextChoices):
        ORDINARY = "ENUMS_VIEWINGS_TYPE_ORDINARY", _("Ordinary viewing")
        TIME_SLOTS = "ENUMS_VIEWINGS_TYPE_TIME_SLOTS", _("Time slots")

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="viewings")
    provider_viewing_id = models.CharField(
        _("viewing id in the broker system"), max_length=200, validators=[validate_provider_id]
    )
    mspecs_deal_id = models.CharField(
        _("MSPECS deal id"),
        max_length=200,
        blank=True,
        validators=[validate_provider_id],
        help_text=_("Needed to poll slot availability from MSPECS."),
    )
    viewing_type = models.CharField(max_length=40, choices=Type.choices, default=Type.ORDINARY)
    title = models.CharField(max_length=200)
    address = models.CharField(max_length=300, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    is_open = models.BooleanField(_("open for booking"), default=True)
    # Unguessable id for the public booking page.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Outcome of the last slot-status poll of this viewing's deal (MSPECS).
    slots_polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    slot_poll_problem = ProblemField(_("slot poll problem"))

    objects = ViewingQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "provider_viewing_id"], name="unique_viewing_per_agency"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="viewing_ends_after_start"
            ),
        ]

    def __str__(self):
        return f"{self.title} ({timezone.localtime(self.starts_at):%Y-%m-%d %H:%M})"

    @property
    def needs_slot(self) -> bool:
        """MSPECS time-slot viewings and every Vitec viewing book into a slot."""
        return (
            self.viewing_type == self.Type.TIME_SLOTS
            or self.agency.broker_system == BrokerSystem.VITEC
        )

    def clean(self):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("A viewing must end after it starts.")})
        if (
            self.agency_id
            and self.viewing_type == self.Type.TIME_SLOTS
            and self.agency.broker_system == BrokerSystem.MSPECS
            and not self.mspecs_deal_id
        ):
            raise ValidationError(
                {"mspecs_deal_id": _("Time-slot viewings need the MSPECS deal id for slot status.")}
            )


class ViewingPartQuerySet(AgencyScopedQuerySet):
    """Rows that belong to a viewing (slots, bookings, decisions), scoped through it."""

    agency_lookup = "viewing__agency__"


class ViewingSlotQuerySet(ViewingPartQuerySet):
    def upcoming(self):
        """Slots that have not started: the ones a buyer may still choose."""
        return self.filter(starts_at__gt=timezone.now())


class ViewingSlot(models.Model):
    viewing = models.ForeignKey(Viewing, on_delete=models.CASCADE, related_name="slots")
    provider_slot_id = models.CharField(
        _("slot id in the broker system"), max_length=200, validators=[validate_provider_id]
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    number_booked = models.PositiveIntegerField(default=0)
    fully_booked = models.BooleanField(default=False)
    status_checked_at = models.DateTimeField(null=True, blank=True)
    # The broker system no longer lists this slot: treat it as closed until staff act.
    missing_from_provider = models.BooleanField(default=False)

    objects = ViewingSlotQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["viewing", "provider_slot_id"], name="unique_slot_per_viewing"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="slot_ends_after_start"
            ),
        ]

    def __str__(self):
        start = timezone.localtime(self.starts_at)
        return f"{start:%Y-%m-%d %H:%M}–{timezone.localtime(self.ends_at):%H:%M}"

    @property
    def is_bookable(self) -> bool:
        return not (self.fully_booked or self.missing_from_provider)

    def mark_fully_booked(self) -> None:
        """The broker system said the slot is full (e.g. Vitec's booking-limit validation
        error): close it as a slot-status poll would."""
        self.fully_booked = True
        self.status_checked_at = timezone.now()
        self.save(update_fields=["fully_booked", "status_checked_at"])

    def clean(self):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("A slot must end after it starts.")})


class DeliveryAttemptQuerySet(AgencyScopedQuerySet):
    agency_lookup = "booking__viewing__agency__"


class IdempotentRequestQuerySet(AgencyScopedQuerySet):
    agency_lookup = "api_key__agency__"


def unbookable_slot_changes() -> dict:
    """How a booking for a slot that filled up (or vanished) is left for staff instead of
    being sent: rejected, as the broker system would have, saying what to do."""
    problem = problems.SLOT_UNBOOKABLE()
    return {
        "status": Booking.Status.REJECTED,
        "last_problem": problem,
        "provider_errors": {"slot": [str(problem)]},
        "next_attempt_at": None,
    }


class BookingQuerySet(ViewingPartQuerySet):
    def awaiting_delivery(self):
        return self.filter(status__in=Booking.Status.waiting())

    def in_unbookable_slot(self):
        return self.filter(Q(slot__fully_booked=True) | Q(slot__missing_from_provider=True))

    def set_aside_for_unbookable_slots(self) -> int:
        """Bookings still to be sent into a slot that has filled up (or vanished) would
        only be rejected: put them before staff now. (A booking being sent is left to its
        worker, which checks `Booking.slot_is_unbookable` itself.)"""
        return (
            self.awaiting_delivery()
            .in_unbookable_slot()
            .update(**unbookable_slot_changes(), updated_at=timezone.now())
        )


class BookingStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    DELIVERED = "delivered", _("Delivered")
    RETRYING = "retrying", _("Retrying")
    HELD = "held", _("Held: credential failing")
    REJECTED = "rejected", _("Rejected by broker system")
    NEEDS_REVIEW = "needs_review", _("Needs review")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")

    # The groups below are the words the code uses for sets of statuses; keep them here.

    @classmethod
    def waiting(cls) -> list["BookingStatus"]:
        """Bookings a worker sends on its own once due (`next_attempt_at`): the delivery
        schedule (bookings/delivery/schedule.py)."""
        return [cls.QUEUED, cls.RETRYING]

    @classmethod
    def stopped(cls) -> list["BookingStatus"]:
        """Bookings whose delivery halted until someone acts (fixes the credential, the
        data or checks the broker system); Re-send starts them again."""
        return [cls.HELD, cls.REJECTED, cls.NEEDS_REVIEW, cls.FAILED]

    @classmethod
    def watched(cls) -> list["BookingStatus"]:
        """Bookings the admin start page counts for staff (bookings/cockpit.py): stopped
        ones, and retrying ones that may yet fail."""
        return [*cls.stopped(), cls.RETRYING]

    @classmethod
    def final(cls) -> list["BookingStatus"]:
        """Bookings whose delivery is over for good: neither the system nor a staff action
        sends them again. Rejected and failed ones are not final: Re-send restarts them."""
        return [cls.DELIVERED, cls.CANCELLED]

    @classmethod
    def live(cls) -> list["BookingStatus"]:
        """Bookings that stand, are on their way or may have landed: a buyer has at most one
        of these per viewing and time. One refused, failed or cancelled does not stand, so
        the buyer may book again (e.g. with corrected data). One that needs review may sit
        in the broker system already: booking again could list the buyer twice."""
        return [
            cls.QUEUED,
            cls.SENDING,
            cls.RETRYING,
            cls.HELD,
            cls.NEEDS_REVIEW,
            cls.DELIVERED,
        ]


DUPLICATE_BOOKING = "duplicate_booking"
DUPLICATE_BOOKING_ERROR = _(
    "A booking for this viewing and time with this email address has already been received."
)
MESSAGE_MAX_LENGTH = 2000
# A zero-width joiner is a formatting character, but emoji sequences need it (👩‍💻).
ZERO_WIDTH_JOINER = "\u200d"
EMOJI_VARIATION_SELECTOR = "\ufe0f"


def is_emoji_part(char: str) -> bool:
    return unicodedata.category(char) in ("So", "Sk") or char == EMOJI_VARIATION_SELECTOR


def normalise_name(name: str) -> str:
    """A person's name as NFC without surrounding space. Raises ValidationError for
    control, formatting and line-breaking characters (a line break or a right-to-left
    override reaches the broker system and the mails it sends), except a zero-width
    joiner inside an emoji sequence."""
    name = unicodedata.normalize("NFC", name).strip()
    for index, char in enumerate(name):
        if unicodedata.category(char) not in ("Cc", "Cf", "Zl", "Zp"):
            continue
        if (
            char == ZERO_WIDTH_JOINER
            and 0 < index < len(name) - 1
            and is_emoji_part(name[index - 1])
            and is_emoji_part(name[index + 1])
        ):
            continue
        raise ValidationError(
            _("Names cannot contain control, formatting or line-break characters (%(code)s)."),
            params={"code": f"U+{ord(char):04X}"},
            code="invisible_character",
        )
    return name


class Booking(models.Model):
    """A prospective buyer who asked to attend a viewing, and their delivery state."""

    Status = BookingStatus

    class Source(models.TextChoices):
        ADMIN = "admin", _("Admin")
        PUBLIC_PAGE = "public", _("Public booking page")
        API = "api", _("Intake API")

    viewing = models.ForeignKey(Viewing, on_delete=models.PROTECT, related_name="bookings")
    slot = models.ForeignKey(
        ViewingSlot, on_delete=models.PROTECT, null=True, blank=True, related_name="bookings"
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField()
    phone = models.CharField(max_length=32, help_text=_("Stored in E.164, e.g. +46701111111."))
    # Not a CharField: longer messages stored before the limit must not break the migration.
    message = models.TextField(
        _("message to the broker"),
        blank=True,
        max_length=MESSAGE_MAX_LENGTH,
        validators=[MaxLengthValidator(MESSAGE_MAX_LENGTH)],
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.ADMIN)
    consent_given_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the buyer consented to data processing.")
    )

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker that claims the booking owns it until then; a crashed worker's claim expires.
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    # When the claiming worker's call to the broker system started; None while it waits for
    # a call slot. A claim that ran out before this was set was never sent.
    send_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_problem = ProblemField(_("last problem"))
    provider_errors = models.JSONField(default=dict, blank=True)
    provider_reference = models.CharField(max_length=200, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = BookingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="booking_due_idx"),
            models.Index(fields=["viewing", "email"], name="booking_viewing_email_idx"),
            # Newest first for the booking list; status and viewing too, so the start page's
            # 14-day chart counts from the index alone (bookings/cockpit.py).
            models.Index(
                fields=["-created_at", "status", "viewing"], name="booking_newest_first_idx"
            ),
            # The start page counts these per agency from the index alone (bookings/cockpit.py).
            models.Index(
                fields=["status", "viewing", "created_at"],
                condition=Q(status__in=BookingStatus.watched()),
                name="booking_watched_idx",
            ),
            # The quarantine mirror walks delivered bookings by age (bookings/quarantine/).
            models.Index(
                fields=["delivered_at", "id"],
                condition=Q(status="delivered"),
                name="booking_delivered_idx",
            ),
        ]
        # One live booking per buyer (email), viewing and slot, also against two identical
        # submissions at once. Two constraints because a NULL slot (a viewing without
        # slots) would never collide in one: NULLs are distinct, and `nulls_distinct`
        # needs PostgreSQL 15 and is not on SQLite.
        constraints = [
            models.UniqueConstraint(
                fields=["slot", "email"],
                condition=Q(status__in=BookingStatus.live()),
                name="one_live_booking_per_slot",
                violation_error_code=DUPLICATE_BOOKING,
                violation_error_message=DUPLICATE_BOOKING_ERROR,
            ),
            models.UniqueConstraint(
                fields=["viewing", "email"],
                condition=Q(status__in=BookingStatus.live(), slot__isnull=True),
                name="one_live_booking_per_viewing_without_slots",
                violation_error_code=DUPLICATE_BOOKING,
                violation_error_message=DUPLICATE_BOOKING_ERROR,
            ),
        ]

    def __str__(self):
        return f"{self.first_name} {self.last_name} <{self.email}>"

    @property
    def agency(self) -> Agency:
        return self.viewing.agency

    @property
    def slot_is_unbookable(self) -> bool:
        """The last slot status says sending this booking would be refused."""
        return self.slot_id is not None and not self.slot.is_bookable

    def live_duplicate(self) -> "Booking | None":
        """The buyer's other live booking of the same viewing and slot under the same
        (normalised) email, if there is one."""
        return (
            Booking.objects.filter(
                viewing_id=self.viewing_id,
                slot_id=self.slot_id,
                email=self.email,
                status__in=Booking.Status.live(),
            )
            .exclude(pk=self.pk)
            .order_by("created_at")
            .first()
        )

    def clean(self):
        errors = {}
        for field in ("first_name", "last_name"):
            try:
                setattr(self, field, normalise_name(getattr(self, field)))
            except ValidationError as error:
                errors[field] = error
        self.email = self.email.strip().lower()
        if self.viewing_id is None:  # the form already says the viewing is required
            if errors:
                raise ValidationError(errors)
            return
        if self.phone:
            try:
                self.phone = normalise_phone(self.phone, self.viewing.agency.phone_region)
            except ValidationError as error:
                errors["phone"] = error
        if self.slot_id and self.slot.viewing_id != self.viewing_id:
            errors["slot"] = _("This slot belongs to another viewing.")
        elif self.viewing.needs_slot and not self.slot_id:
            errors["slot"] = _("Choose a slot: this viewing is booked by time slot.")
        elif not self.viewing.needs_slot and self.slot_id:
            errors["slot"] = _("This viewing has no time slots; leave the slot empty.")
        elif self._state.adding and self.slot_id and not self.slot.is_bookable:
            errors["slot"] = ValidationError(
                _("This slot is fully booked; choose another."), code="slot_full"
            )
        elif self._state.adding and self.slot_id and self.slot.starts_at <= timezone.now():
            errors["slot"] = _("This time has passed; choose another.")
        # Not tied to a field: the public page and the API have no viewing field.
        if self._state.adding and not self.viewing.is_open:
            errors[NON_FIELD_ERRORS] = _("This viewing is closed for booking.")
        elif self._state.adding and self.viewing.ends_at <= timezone.now():
            errors[NON_FIELD_ERRORS] = _("This viewing has ended.")
        elif self.status in Booking.Status.live() and self.email and self.live_duplicate():
            # Checked here so every form says it; the constraints hold against races.
            errors[NON_FIELD_ERRORS] = ValidationError(
                DUPLICATE_BOOKING_ERROR, code=DUPLICATE_BOOKING
            )
        if errors:
            raise ValidationError(errors)


class Outcome(models.TextChoices):
    """What a delivery attempt meant for the booking, whatever the broker system: the
    choices of DeliveryAttempt.outcome and what the engine's deliver() returns."""

    DELIVERED = "delivered", _("Delivered")
    # The broker system refused the data (or the slot is full): staff must act.
    REJECTED = "rejected", _("Rejected")
    # 401/403, a refused address or no credential: the credential (login or base URL) is
    # wrong, not the booking.
    AUTH_FAILED = "auth_failed", _("Credential refused")
    RETRY = "retry", _("Try again later")  # 429, 5xx, no connection
    # It may have landed: do not post it again blindly.
    NEEDS_REVIEW = "needs_review", _("Needs review")
    # The worker stopped during the call; recorded by the sweep (engine.recover_interrupted).
    INTERRUPTED = "interrupted", _("Interrupted")


class DeliveryAttempt(models.Model):
    """One HTTP call to a broker system for one booking, as staff need to see it."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="attempts")
    started_at = models.DateTimeField(default=timezone.now)
    endpoint = models.CharField(max_length=500)
    url = models.URLField(_("URL called"), max_length=2000, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    response_excerpt = models.TextField(blank=True, help_text=_("Redacted."))

    Outcome = Outcome

    objects = DeliveryAttemptQuerySet.as_manager()

    class Meta:
        ordering = ["started_at", "pk"]

    def __str__(self):
        return f"{self.endpoint} → {self.http_status or '—'} ({self.outcome})"


class QuarantineDecision(models.Model):
    """What a broker decided in MSPECS about one quarantine entry (one email on a viewing)."""

    class Decision(models.TextChoices):
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")

    viewing = models.ForeignKey(
        Viewing, on_delete=models.CASCADE, related_name="quarantine_decisions"
    )
    email = models.EmailField()
    decision = models.CharField(max_length=10, choices=Decision.choices)
    decided_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)

    objects = ViewingPartQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["viewing", "email"], name="unique_decision_per_entry"),
        ]

    def __str__(self):
        return f"{self.email}: {self.get_decision_display()}"


class IdempotentRequest(models.Model):
    """The first response to an intake API request sent with an Idempotency-Key."""

    api_key = models.ForeignKey(
        "agencies.ApiKey", on_delete=models.CASCADE, related_name="idempotent_requests"
    )
    key = models.CharField(max_length=200)
    request_fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = IdempotentRequestQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="unique_idempotency_key"),
        ]

    def __str__(self):
        return self.key
