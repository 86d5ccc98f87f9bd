"""A booking, the delivery attempts that send it to the provider, and the rules its
fields keep (names, lawful basis, the provider's limits)."""

import unicodedata
from datetime import datetime

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency, AgencyScopedQuerySet
from agencies.problems import Problem, ProblemField
from bookings.models.status import BookingStatus
from bookings.models.viewings import Viewing, ViewingPartQuerySet, ViewingSlot
from bookings.phones import normalise_phone
from bookings.problems import delivery as problems
from bookings.provider_capabilities import capabilities_of


class DeliveryAttemptQuerySet(AgencyScopedQuerySet):
    agency_lookup = "booking__viewing__agency__"


def unbookable_changes(field: str, problem: Problem) -> dict:
    """How a booking for a slot that filled up (or vanished), or a viewing the broker
    system no longer lists, is left for staff instead of being sent: rejected, as the
    provider would have, saying what to do beside the booking's `field`."""
    return {
        "status": Booking.Status.REJECTED,
        "last_problem": problem,
        "provider_errors": {field: [str(problem)]},
        "next_attempt_at": None,
    }


class BookingQuerySet(ViewingPartQuerySet):
    def awaiting_delivery(self):
        return self.filter(status__in=Booking.Status.waiting())

    def set_aside_for_unbookable_slots(self) -> list[int]:
        """Bookings still to be sent into a slot that has filled up (or vanished), or into
        a viewing the provider no longer lists, would only be rejected: put them
        before staff now, and return their ids. (A booking being sent is left to its
        worker, which checks `Booking.unbookable_reason` itself.)"""
        waiting = self.awaiting_delivery()
        ids = []
        for place, field, problem in (
            (
                Q(viewing__removed_from_source_at__isnull=False),
                "viewing",
                problems.VIEWING_REMOVED(),
            ),
            (
                Q(slot__fully_booked=True) | Q(slot__missing_from_provider=True),
                "slot",
                problems.SLOT_UNBOOKABLE(),
            ),
        ):
            unbookable = waiting.filter(place).exclude(pk__in=ids)
            found = list(unbookable.values_list("pk", flat=True))
            # Those still waiting by the time of the update; a buyer email is only ever sent
            # for a booking that is rejected when it goes (bookings/buyer/emails.py).
            if found:
                unbookable.filter(pk__in=found).update(
                    **unbookable_changes(field, problem), updated_at=timezone.now()
                )
            ids += found
        return ids


DUPLICATE_BOOKING = "duplicate_booking"
BOOKING_CLOSED = "booking_closed"
DUPLICATE_BOOKING_ERROR = _(
    "A booking for this viewing with this email address has already been received: one "
    "booking per person and viewing, whatever the time."
)
BROKER_LIMIT = "broker_limit"
BROKER_LIMIT_ERROR = _(
    "At most %(limit)d characters: the agency's system takes no more (this has %(length)d)."
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
    override reaches the provider and the mails it sends), except a zero-width
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


class LawfulBasis(models.TextChoices):
    """Why the agency may process the buyer's data for this booking."""

    CONSENT = "consent", _("Consent on the booking page or the agency's website")
    ASKED_BY_PHONE = "asked_by_phone", _("The buyer asked by phone")
    ASKED_IN_PERSON = "asked_in_person", _("The buyer asked in person")
    ASKED_BY_EMAIL = "asked_by_email", _("The buyer asked by email or text message")

    @classmethod
    def staff_choices(cls) -> list[tuple[str, str]]:
        """What staff entering a booking choose from: the buyer's own request."""
        return [(value, label) for value, label in cls.choices if value != cls.CONSENT]


class Booking(models.Model):
    """A prospective buyer who asked to attend a viewing, and their delivery state."""

    Status = BookingStatus
    LawfulBasis = LawfulBasis

    class Source(models.TextChoices):
        ADMIN = "admin", _("Admin")
        PUBLIC_PAGE = "public", _("Public booking page")
        API = "api", _("Intake API")

    viewing = models.ForeignKey(
        Viewing, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("viewing")
    )
    slot = models.ForeignKey(
        ViewingSlot,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bookings",
        verbose_name=_("slot"),
    )
    first_name = models.CharField(max_length=100, verbose_name=_("first name"))
    last_name = models.CharField(max_length=100, verbose_name=_("last name"))
    email = models.EmailField(verbose_name=_("email"))
    phone = models.CharField(
        max_length=32, help_text=_("Stored in E.164, e.g. +46701111111."), verbose_name=_("phone")
    )
    # Not a CharField: longer messages stored before the limit must not break the migration.
    message = models.TextField(
        _("message to the broker"),
        blank=True,
        max_length=MESSAGE_MAX_LENGTH,
        validators=[MaxLengthValidator(MESSAGE_MAX_LENGTH)],
    )
    # The door the booking came in through is also the consent's channel.
    source = models.CharField(
        max_length=10, choices=Source.choices, default=Source.ADMIN, verbose_name=_("source")
    )
    # The buyer's language: the consent sentence was shown in it, and the status page and
    # emails use it.
    language = models.CharField(
        _("buyer's language"),
        max_length=8,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        db_default=settings.LANGUAGE_CODE,
    )
    # The consent record: set once by intake (bookings/consent.py), never by a form.
    consent_given_at = models.DateTimeField(
        _("consent given at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the buyer consented to data processing."),
    )
    consent_text_version = models.CharField(
        _("consent text version"),
        max_length=64,
        blank=True,
        db_default="",
        editable=False,
        help_text=_("SHA-256 of the exact consent sentence shown, in the buyer's language."),
    )
    consent_api_key = models.ForeignKey(
        "agencies.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("consent given through API key"),
    )
    lawful_basis = models.CharField(
        _("lawful basis"), max_length=20, choices=LawfulBasis.choices, blank=True, db_default=""
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("entered by"),
    )
    # The buyer asked to cancel (status page) after the booking may have reached the broker
    # system: staff remove them there.
    cancellation_requested_at = models.DateTimeField(
        _("buyer asked to cancel at"), null=True, blank=True, editable=False
    )
    # The buyer's emails, each sent once (bookings/buyer/emails.py): the receipt on booking,
    # the one telling them the booking ended, and the one correcting it when a booking
    # they were told had failed reaches the provider after all.
    receipt_sent_at = models.DateTimeField(
        _("receipt emailed at"), null=True, blank=True, editable=False
    )
    buyer_notified_at = models.DateTimeField(
        _("buyer emailed at"), null=True, blank=True, editable=False
    )
    buyer_corrected_at = models.DateTimeField(
        _("buyer told it was delivered after all at"), null=True, blank=True, editable=False
    )

    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.QUEUED, verbose_name=_("status")
    )
    attempt_count = models.PositiveIntegerField(default=0, verbose_name=_("attempt count"))
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next attempt at"))
    # A worker that claims the booking owns it until then; a crashed worker's claim expires.
    claimed_until = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("claimed until")
    )
    # When the worker holding the claim set out to send (the claim: bookings/delivery/sending.py);
    # from then on the provider may receive it. None before the first claim.
    send_started_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("sending started at")
    )
    # Posts of this booking whose answer was lost (they may have landed), since staff last
    # re-sent it: what limits repeats (lost_answer_repeats) however often it is held and resumed.
    lost_answer_count = models.PositiveSmallIntegerField(
        _("lost answers"), default=0, db_default=0, editable=False
    )
    last_problem = ProblemField(_("last problem"))
    provider_errors = models.JSONField(
        default=dict, blank=True, verbose_name=_("broker-system field errors")
    )
    provider_reference = models.CharField(
        max_length=200, blank=True, verbose_name=_("broker-system reference")
    )

    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered at"))
    # Its personal data was erased or reached the end of its retention (bookings/privacy/):
    # the row stays for the statistics.
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True, editable=False)

    objects = BookingQuerySet.as_manager()

    class Meta:
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
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
            # The start page's count of buyers' cancellation requests (bookings/cockpit.py).
            models.Index(
                fields=["viewing"],
                condition=Q(cancellation_requested_at__isnull=False),
                name="booking_cancel_requested_idx",
            ),
            # The quarantine mirror walks delivered bookings by age (bookings/quarantine/).
            models.Index(
                fields=["delivered_at", "id"],
                condition=Q(status__in=BookingStatus.mirrored()),
                name="booking_delivered_idx",
            ),
        ]
        # One live booking per buyer (email) and viewing, whatever the slot, also against
        # two identical submissions at once: a second one would list the buyer twice in the
        # provider (two Vitec participants). Staff move a booking to another slot.
        constraints = [
            models.UniqueConstraint(
                fields=["viewing", "email"],
                condition=Q(status__in=BookingStatus.live()),
                name="one_live_booking_per_viewing",
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
    def accepted_after_deadline(self) -> bool:
        """Taken after the viewing's booking deadline (possible only when a sync moved the
        deadline earlier than when the booking was accepted): not to be sent. A booking
        accepted in time is delivered even when its delivery runs past the deadline."""
        closes_at = self.viewing.booking_closes_at
        return (
            closes_at is not None and self.created_at is not None and self.created_at >= closes_at
        )

    @property
    def booked_by_date(self) -> bool:
        """The buyer booked a day, not a time (a date-only viewing): shown without a time."""
        return self.slot_id is None and self.viewing.date_only

    @property
    def booked_time(self) -> tuple:
        """(start, end) of what the buyer booked: the slot, or the whole viewing."""
        booked = self.slot if self.slot_id else self.viewing
        return booked.starts_at, booked.ends_at

    @property
    def unbookable_reason(self) -> tuple[str, Problem] | None:
        """Why sending this booking would be refused, as far as the last sync and slot
        status know, and the field it concerns: its viewing was removed, or its slot is
        full or gone; else None."""
        if self.viewing.removed_from_source_at is not None:
            return "viewing", problems.VIEWING_REMOVED()
        if self.slot_id is not None and not self.slot.is_bookable:
            return "slot", problems.SLOT_UNBOOKABLE()
        return None

    def delivery_deadline(self) -> tuple[datetime, Problem]:
        """When sending this booking stops making sense, and why: its slot's start, or its
        viewing's when it has no slot. The one place for the rule (the engine ends a booking
        `too_late` past it); another deadline is one more entry in the list."""
        if self.slot_id is not None:
            deadlines = [(self.slot.starts_at, problems.SLOT_STARTED())]
        else:
            deadlines = [(self.viewing.starts_at, problems.VIEWING_STARTED())]
        return min(deadlines, key=lambda deadline: deadline[0])

    @property
    def is_probably_delivered(self) -> bool:
        """Its answers were lost more often than the provider allows a repeat: staff
        check there (a flag for templates, which never compare statuses)."""
        return self.status == Booking.Status.PROBABLY_DELIVERED

    @property
    def may_yet_be_sent(self) -> bool:
        """Whether the provider may still be sent this booking as it stands: not once
        it is delivered, being sent or cancelled."""
        return self.status not in [*Booking.Status.final(), Booking.Status.SENDING]

    def live_duplicate(self) -> "Booking | None":
        """The buyer's other live booking of the same viewing (in any slot) under the
        same (normalised) email, if there is one."""
        return (
            Booking.objects.filter(
                viewing_id=self.viewing_id,
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
        if self.may_yet_be_sent:
            errors |= self.broker_limit_errors(skip=errors)
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
        elif self._state.adding and self.slot_id and self.slot.places_left() == 0:
            errors["slot"] = ValidationError(
                _("This slot is fully booked; choose another."), code="slot_full"
            )
        # Not tied to a field: the public page and the API have no viewing field.
        if self._state.adding and not self.viewing.is_open:
            errors[NON_FIELD_ERRORS] = _("This viewing is closed for booking.")
        elif self._state.adding and self.viewing.booking_closed():
            errors[NON_FIELD_ERRORS] = ValidationError(
                _("Booking for this viewing closed at %(time)s."),
                code=BOOKING_CLOSED,
                params={
                    "time": formats.date_format(
                        timezone.localtime(self.viewing.booking_closes_at), "DATETIME_FORMAT"
                    )
                },
            )
        elif self._state.adding and self.viewing.ends_at <= timezone.now():
            errors[NON_FIELD_ERRORS] = _("This viewing has ended.")
        elif self.status in Booking.Status.live() and self.email and self.live_duplicate():
            # Checked here so every form says it; the constraints hold against races.
            errors[NON_FIELD_ERRORS] = ValidationError(
                DUPLICATE_BOOKING_ERROR, code=DUPLICATE_BOOKING
            )
        if errors:
            raise ValidationError(errors)

    def broker_limit_errors(self, skip=()) -> dict[str, ValidationError]:
        """The fields, normalised as they are sent, that are longer than the agency's
        provider takes (its plug-in's contract: `field_limits`); fields in `skip`
        already have an error."""
        errors = {}
        for field, limit in capabilities_of(self.viewing.agency.provider).field_limits.items():
            length = len(getattr(self, field))
            if field not in skip and length > limit:
                errors[field] = ValidationError(
                    BROKER_LIMIT_ERROR,
                    code=BROKER_LIMIT,
                    params={"limit": limit, "length": length},
                )
        return errors


class Outcome(models.TextChoices):
    """What a delivery attempt meant for the booking, whatever the provider: the
    choices of DeliveryAttempt.outcome and what the engine's deliver() returns."""

    DELIVERED = "delivered", _("Delivered")
    # The provider refused the data (or the slot is full): staff must act.
    REJECTED = "rejected", _("Rejected")
    # 401/403, a refused address or no credential: the credential (login or base URL) is
    # wrong, not the booking.
    AUTH_FAILED = "auth_failed", _("Credential refused")
    RETRY = "retry", _("Try again later")  # 429, 5xx, no connection
    # It may have landed: do not post it again blindly.
    NEEDS_REVIEW = "needs_review", _("Needs review")
    # Sent, but no answer came back (read timeout, dropped connection) from a provider
    # that allows a repeat (lost_answer_repeats): it may have landed.
    ANSWER_LOST = "answer_lost", _("Answer lost")
    # The worker stopped during the call; recorded by the sweep (sweep.recover_interrupted).
    INTERRUPTED = "interrupted", _("Interrupted")


class DeliveryAttempt(models.Model):
    """One HTTP call to a provider for one booking, as staff need to see it."""

    booking = models.ForeignKey(
        Booking, on_delete=models.CASCADE, related_name="attempts", verbose_name=_("booking")
    )
    started_at = models.DateTimeField(default=timezone.now, verbose_name=_("started at"))
    endpoint = models.CharField(max_length=500, verbose_name=_("endpoint"))
    url = models.URLField(_("URL called"), max_length=2000, blank=True)
    http_status = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("HTTP status")
    )
    duration_ms = models.PositiveIntegerField(default=0, verbose_name=_("duration (ms)"))
    outcome = models.CharField(max_length=20, choices=Outcome.choices, verbose_name=_("outcome"))
    response_excerpt = models.TextField(
        blank=True, help_text=_("Redacted."), verbose_name=_("response excerpt")
    )

    Outcome = Outcome

    objects = DeliveryAttemptQuerySet.as_manager()

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["started_at", "pk"]

    def __str__(self):
        return f"{self.endpoint} → {self.http_status or '—'} ({self.get_outcome_display()})"
