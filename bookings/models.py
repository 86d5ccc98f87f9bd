import os
import socket
import unicodedata
import uuid
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
from agencies.validators import validate_provider_id
from bookings.delivery import problems
from bookings.phones import normalise_phone


def broker_plugin(agency: Agency):
    """The plug-in of the agency's broker system (bookings/providers/): what that system
    needs, takes and can do."""
    # Imported when asked: the plug-ins' clients import this module.
    from bookings.providers import plugin_for

    return plugin_for(agency.broker_system)


class ViewingQuerySet(AgencyScopedQuerySet):
    def bookable(self, now=None):
        """Open viewings of active agencies that have not ended: the ones buyers can book."""
        return self.filter(is_open=True, agency__is_active=True, ends_at__gt=now or timezone.now())

    def offered_online(self, now=None):
        """The bookable viewings the broker system lets buyers book from the internet: the
        ones the public page and the JSON API offer (staff may still book the others)."""
        return self.bookable(now).filter(bookable_from_internet=True)

    def open_for_booking(self, now=None):
        """The viewings offered online whose booking deadline has not passed."""
        now = now or timezone.now()
        return self.offered_online(now).exclude(booking_closes_at__lte=now)

    def imported(self):
        """Viewings read from a broker system (an MSPECS deal or a Vitec estate)."""
        return self.exclude(source_id="")


class Viewing(models.Model):
    class Type(models.TextChoices):
        ORDINARY = "ENUMS_VIEWINGS_TYPE_ORDINARY", _("Ordinary viewing")
        TIME_SLOTS = "ENUMS_VIEWINGS_TYPE_TIME_SLOTS", _("Time slots")

    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="viewings", verbose_name=_("agency")
    )
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
    viewing_type = models.CharField(
        max_length=40, choices=Type.choices, default=Type.ORDINARY, verbose_name=_("viewing type")
    )
    title = models.CharField(max_length=200, verbose_name=_("title"))
    address = models.CharField(max_length=300, blank=True, verbose_name=_("address"))
    starts_at = models.DateTimeField(verbose_name=_("starts at"))
    ends_at = models.DateTimeField(verbose_name=_("ends at"))
    is_open = models.BooleanField(_("open for booking"), default=True)
    # Imported viewings (bookings/viewing_import/): the MSPECS deal or Vitec estate they were
    # read from, which every sync reads again. Empty for a viewing entered by hand.
    source_id = models.CharField(
        _("deal or estate id in the broker system"),
        max_length=200,
        blank=True,
        db_default="",
        validators=[validate_provider_id],
        editable=False,
    )
    bookable_from_internet = models.BooleanField(
        _("bookable from the internet"),
        default=True,
        db_default=True,
        help_text=_("As the broker system says; only these are on the public page and the API."),
    )
    # MSPECS externalBookingLatestHourBefore / Vitec NoLaterThen: no booking is accepted
    # from this moment on (Viewing.booking_closed), through any door.
    booking_closes_at = models.DateTimeField(
        _("booking closes at"),
        null=True,
        blank=True,
        help_text=_("No booking is taken from this time on. Empty: until the viewing starts."),
    )
    # MSPECS date-only viewings (docs/mspecs.md): the broker system names a day, no time;
    # starts_at and ends_at span that day in Swedish time, and buyers book the day.
    date_only = models.BooleanField(
        _("date only"),
        default=False,
        db_default=False,
        editable=False,
        help_text=_("The broker system names a day and no time: buyers book the day."),
    )
    # MSPECS hideStartDate: the viewing's start and end times are not shown to buyers.
    hide_times = models.BooleanField(
        _("times hidden"),
        default=False,
        db_default=False,
        editable=False,
        help_text=_("The broker system asks not to show the viewing's start and end times."),
    )
    # The viewing is no longer in the broker system: closed, never deleted (its bookings stay).
    removed_from_source_at = models.DateTimeField(null=True, blank=True, editable=False)
    sync_problem = ProblemField(_("sync problem"))
    # Unguessable id for the public booking page.
    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    # Outcome of the last slot-status poll of this viewing's deal (MSPECS).
    slots_polled_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("slots polled at")
    )
    slot_poll_problem = ProblemField(_("slot poll problem"))

    objects = ViewingQuerySet.as_manager()

    class Meta:
        verbose_name = _("viewing")
        verbose_name_plural = _("viewings")
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
        # A date-only viewing has no time to show (docs/mspecs.md): its day, not midnight.
        shown = "%Y-%m-%d" if self.date_only else "%Y-%m-%d %H:%M"
        return f"{self.title} ({timezone.localtime(self.starts_at):{shown}})"

    @property
    def is_imported(self) -> bool:
        return bool(self.source_id)

    def booking_closed(self, now=None) -> bool:
        """Whether the booking deadline the broker system set has passed."""
        return (
            self.booking_closes_at is not None and (now or timezone.now()) >= self.booking_closes_at
        )

    @property
    def needs_slot(self) -> bool:
        """Time-slot viewings book into a slot, and every viewing of a broker system whose
        viewings all have slots (Vitec)."""
        return (
            self.viewing_type == self.Type.TIME_SLOTS
            or broker_plugin(self.agency).every_viewing_has_slots
        )

    def clean(self):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("A viewing must end after it starts.")})
        if (
            self.agency_id
            and self.viewing_type == self.Type.TIME_SLOTS
            and broker_plugin(self.agency).polls_slot_status
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

    def with_live_booking_count(self):
        """Each slot with `live_booking_count`, which ViewingSlot.places_left reads: our
        live bookings the broker system had not counted in `number_booked` when it was read
        (`status_checked_at`), i.e. not delivered by then."""
        not_counted = (
            Q(status_checked_at__isnull=True)
            | Q(bookings__delivered_at__isnull=True)
            | Q(bookings__delivered_at__gt=models.F("status_checked_at"))
        )
        return self.annotate(
            live_booking_count=models.Count(
                "bookings", filter=Q(bookings__status__in=BookingStatus.live()) & not_counted
            )
        )


class ViewingSlot(models.Model):
    viewing = models.ForeignKey(
        Viewing, on_delete=models.CASCADE, related_name="slots", verbose_name=_("viewing")
    )
    provider_slot_id = models.CharField(
        _("slot id in the broker system"), max_length=200, validators=[validate_provider_id]
    )
    starts_at = models.DateTimeField(verbose_name=_("starts at"))
    ends_at = models.DateTimeField(verbose_name=_("ends at"))
    number_booked = models.PositiveIntegerField(default=0, verbose_name=_("number booked"))
    fully_booked = models.BooleanField(default=False, verbose_name=_("fully booked"))
    status_checked_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("status checked at")
    )
    # The broker system no longer lists this slot: treat it as closed until staff act.
    missing_from_provider = models.BooleanField(
        default=False, verbose_name=_("missing from the broker system")
    )
    # Places as the broker system states them (None: not stated). MSPECS gives the places
    # left (freeSpots); Vitec the capacity (participantPerTimeSlot) and the participants it
    # lists (number_booked, as read at status_checked_at), from which the places left are
    # what those and our live bookings leave (ViewingSlot.places_left).
    capacity = models.PositiveIntegerField(_("places"), null=True, blank=True, editable=False)
    free_spots = models.PositiveIntegerField(
        _("places left"), null=True, blank=True, editable=False
    )

    objects = ViewingSlotQuerySet.as_manager()

    class Meta:
        verbose_name = _("viewing slot")
        verbose_name_plural = _("viewing slots")
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

    def places_left(self, live_bookings: int | None = None) -> int | None:
        """Places a buyer can still take, or None when the broker system does not say:
        MSPECS's freeSpots as last read, else the capacity minus the buyers the broker
        system counted (`number_booked`) minus our live bookings it had not counted yet
        (`live_bookings`, else as annotated by with_live_booking_count, else counted): a
        booking we delivered is among Vitec's participants, and must not count twice."""
        if self.free_spots is not None:
            return self.free_spots
        if self.capacity is None:
            return None
        if live_bookings is None:
            live_bookings = getattr(self, "live_booking_count", None)
        if live_bookings is None:
            live_bookings = self.bookings_not_counted().count()
        return max(0, self.capacity - self.number_booked - live_bookings)

    def bookings_not_counted(self):
        """Our live bookings of the slot that were not delivered when the broker system's
        count (`number_booked`) was read, at `status_checked_at`."""
        live = self.bookings.filter(status__in=Booking.Status.live())
        if self.status_checked_at is None:
            return live
        return live.exclude(delivered_at__lte=self.status_checked_at)

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


def unbookable_changes(field: str, problem: Problem) -> dict:
    """How a booking for a slot that filled up (or vanished), or a viewing the broker
    system no longer lists, is left for staff instead of being sent: rejected, as the
    broker system would have, saying what to do beside the booking's `field`."""
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
        a viewing the broker system no longer lists, would only be rejected: put them
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
    # Its slot or viewing started before it could be delivered (Booking.delivery_deadline).
    TOO_LATE = "too_late", _("Too late")
    # Posts whose answers were lost more often than the broker system allows a repeat
    # (bookings/providers/base.py, lost_answer_repeats): it most likely landed.
    PROBABLY_DELIVERED = "probably_delivered", _("Probably delivered: check the broker system")

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
        return [
            cls.HELD,
            cls.REJECTED,
            cls.NEEDS_REVIEW,
            cls.PROBABLY_DELIVERED,
            cls.FAILED,
            cls.TOO_LATE,
        ]

    @classmethod
    def in_doubt(cls) -> list["BookingStatus"]:
        """Bookings that may have reached the broker system without our knowing: staff check
        there, then re-send or mark them delivered."""
        return [cls.NEEDS_REVIEW, cls.PROBABLY_DELIVERED]

    @classmethod
    def mirrored(cls) -> list["BookingStatus"]:
        """Bookings in an MSPECS quarantine (bookings/quarantine/): delivered, or most likely
        there although their answers were lost (shown flagged, for staff to check)."""
        return [cls.DELIVERED, cls.PROBABLY_DELIVERED]

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
        the buyer may book again (e.g. with corrected data), as may one too late for its
        slot. One in doubt may sit in the broker system already: booking again could list
        the buyer twice."""
        return [
            cls.QUEUED,
            cls.SENDING,
            cls.RETRYING,
            cls.HELD,
            *cls.in_doubt(),
            cls.DELIVERED,
        ]


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
    # The one email telling the buyer the booking ended (bookings/buyer/emails.py).
    buyer_notified_at = models.DateTimeField(
        _("buyer emailed at"), null=True, blank=True, editable=False
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
    # When the worker holding the claim set out to send (the claim: bookings/delivery/engine.py);
    # from then on the broker system may receive it. None before the first claim.
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
        # broker system (two Vitec participants). Staff move a booking to another slot.
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
    def may_yet_be_sent(self) -> bool:
        """Whether the broker system may still be sent this booking as it stands: not once
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
        broker system takes (its plug-in's contract: `field_limits`); fields in `skip`
        already have an error."""
        errors = {}
        for field, limit in broker_plugin(self.viewing.agency).field_limits.items():
            length = len(getattr(self, field))
            if field not in skip and length > limit:
                errors[field] = ValidationError(
                    BROKER_LIMIT_ERROR,
                    code=BROKER_LIMIT,
                    params={"limit": limit, "length": length},
                )
        return errors


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
    # Sent, but no answer came back (read timeout, dropped connection) from a broker system
    # that allows a repeat (lost_answer_repeats): it may have landed.
    ANSWER_LOST = "answer_lost", _("Answer lost")
    # The worker stopped during the call; recorded by the sweep (engine.recover_interrupted).
    INTERRUPTED = "interrupted", _("Interrupted")


class DeliveryAttempt(models.Model):
    """One HTTP call to a broker system for one booking, as staff need to see it."""

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


class QuarantineDecision(models.Model):
    """What a broker decided in MSPECS about one quarantine entry (one email on a viewing)."""

    class Decision(models.TextChoices):
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")

    viewing = models.ForeignKey(
        Viewing,
        on_delete=models.CASCADE,
        related_name="quarantine_decisions",
        verbose_name=_("viewing"),
    )
    email = models.EmailField(verbose_name=_("email"))
    decision = models.CharField(max_length=10, choices=Decision.choices, verbose_name=_("decision"))
    decided_by = models.ForeignKey(
        "auth.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(default=timezone.now, verbose_name=_("decided at"))

    objects = ViewingPartQuerySet.as_manager()

    class Meta:
        verbose_name = _("quarantine decision")
        verbose_name_plural = _("quarantine decisions")
        constraints = [
            models.UniqueConstraint(fields=["viewing", "email"], name="unique_decision_per_entry"),
        ]

    def __str__(self):
        return f"{self.email}: {self.get_decision_display()}"


# The request fingerprint of an erased buyer's record: a hash of their request is theirs.
ERASED_FINGERPRINT = ""


class IdempotentRequest(models.Model):
    """The first response to an intake API request sent with an Idempotency-Key."""

    api_key = models.ForeignKey(
        "agencies.ApiKey",
        on_delete=models.CASCADE,
        related_name="idempotent_requests",
        verbose_name=_("API key"),
    )
    key = models.CharField(max_length=200, verbose_name=_("idempotency key"))
    request_fingerprint = models.CharField(max_length=64, verbose_name=_("request fingerprint"))
    response_status = models.PositiveSmallIntegerField(verbose_name=_("response status"))
    response_body = models.JSONField(verbose_name=_("response body"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    objects = IdempotentRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("idempotent request")
        verbose_name_plural = _("idempotent requests")
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="unique_idempotency_key"),
        ]

    def __str__(self):
        return self.key


class Heartbeat(models.Model):
    """When a background process (the delivery worker, the scheduler) was last seen alive,
    for /healthz. A row in the database rather than the cache: every web process must see
    it, and the default cache is per process."""

    class Process(models.TextChoices):
        WORKER = "worker", _("Delivery worker")
        SCHEDULER = "scheduler", _("Scheduler")

    process = models.CharField(max_length=20, choices=Process.choices, unique=True)
    seen_at = models.DateTimeField()
    # host:pid of the one that beat last: which of several workers, or which scheduler holds
    # the lock.
    seen_by = models.CharField(max_length=300)

    def __str__(self):
        return f"{self.process} {self.seen_at:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def beat(cls, process: str) -> None:
        seen_by = f"{socket.gethostname()}:{os.getpid()}"
        cls.objects.update_or_create(
            process=process, defaults={"seen_at": timezone.now(), "seen_by": seen_by}
        )


class ViewingChange(models.Model):
    """One thing a sync with the broker system changed on a viewing, for staff to see."""

    class Kind(models.TextChoices):
        IMPORTED = "imported", _("Imported")
        SLOT_ADDED = "slot_added", _("Time added")
        MOVED = "moved", _("Time moved")
        SLOT_REMOVED = "slot_removed", _("Time removed: closed for booking")
        SLOT_RETURNED = "slot_returned", _("Time back in the broker system")
        REMOVED = "removed", _("Viewing removed: closed for booking")
        RETURNED = "returned", _("Viewing back in the broker system")
        DEADLINE = "deadline", _("Booking deadline changed")
        ONLINE_BOOKING = "online_booking", _("Bookable from the internet changed")

    viewing = models.ForeignKey(Viewing, on_delete=models.CASCADE, related_name="changes")
    slot = models.ForeignKey(
        ViewingSlot, on_delete=models.CASCADE, null=True, blank=True, related_name="changes"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # What it was and what it became, as ISO times or values ({"before": .., "after": ..}).
    detail = models.JSONField(default=dict, blank=True)
    # The bookings standing on what changed, for staff to move or tell.
    booking_ids = models.JSONField(default=list, blank=True)

    objects = ViewingPartQuerySet.as_manager()

    class Meta:
        ordering = ["-recorded_at", "-pk"]

    def __str__(self):
        return self.get_kind_display()


class ChangedSourcesMark(models.Model):
    """How far a scheduled sync has read the list of changed deals or estates of one
    credential, for a broker system that lists them (Vitec's estates by changedAt;
    viewing_import/sync.py, `sync_changed`)."""

    credential = models.OneToOneField(
        "agencies.ProviderCredential", on_delete=models.CASCADE, related_name="changed_sources"
    )
    # The newest change read, in the broker system's clock: the next pass asks from there.
    changed_up_to = models.DateTimeField(null=True, blank=True)
    # When every source was last read whatever the list said (our clock).
    all_read_at = models.DateTimeField()

    def __str__(self):
        return f"{self.credential}: {self.changed_up_to}"


class WebhookEventQuerySet(AgencyScopedQuerySet):
    def unprocessed(self):
        return self.filter(processed_at__isnull=True)


class WebhookEvent(models.Model):
    """An event a broker system pushed (MSPECS webhooks), stored before it is answered and
    acted on by the worker (bookings/viewing_import/webhooks.py). Only what we act on is
    kept; MSPECS's events carry no id, so one delivery is known by its signed timestamp and
    the hash of its body."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="webhook_events")
    event_type = models.CharField(max_length=40)
    source_id = models.CharField(max_length=200, blank=True)  # the deal the event is about
    signed_at = models.DateTimeField()  # the signature's timestamp
    body_sha256 = models.CharField(max_length=64)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    problem = ProblemField(_("problem"))

    objects = WebhookEventQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "signed_at", "body_sha256"], name="one_event_per_delivery"
            ),
        ]
        indexes = [
            models.Index(
                fields=["agency", "source_id"],
                condition=Q(processed_at__isnull=True),
                name="webhook_event_pending",
            )
        ]

    def __str__(self):
        return f"{self.event_type} {self.source_id}".strip()


class DataRequest(models.Model):
    """A buyer's data-subject request carried out for one agency (bookings/privacy/): who
    did it, when, and how many rows of each kind; never whose data it was beyond a keyed
    hash of the email, which tells whether a given email was handled without storing it."""

    class Kind(models.TextChoices):
        ERASURE = "erasure", _("Erasure")
        EXPORT = "export", _("Export")

    class Channel(models.TextChoices):
        ADMIN = "admin", _("Admin")
        COMMAND = "command", _("Management command")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="data_requests", verbose_name=_("agency")
    )
    performed_by = models.ForeignKey(
        "auth.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("performed by"),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    performed_at = models.DateTimeField(_("performed at"), default=timezone.now)
    email_digest = models.CharField(_("email (keyed hash)"), max_length=64)
    counts = models.JSONField(_("rows"), default=dict)

    objects = AgencyScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-performed_at"]
        verbose_name = _("data request")
        verbose_name_plural = _("data requests")

    def __str__(self):
        return f"{self.get_kind_display()} {self.agency} {self.performed_at:%Y-%m-%d %H:%M}"
