"""A viewing, its time slots and what syncs with the provider changed on them: the
aggregate every booking, quarantine decision and change hangs from."""

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency, AgencyScopedQuerySet
from agencies.problems import ProblemField
from agencies.validators import validate_provider_id
from bookings.models.status import BookingStatus
from bookings.provider_capabilities import capabilities_of


class ViewingQuerySet(AgencyScopedQuerySet):
    def bookable(self, now=None):
        """Open viewings of active agencies that have not ended: the ones buyers can book."""
        return self.filter(is_open=True, agency__is_active=True, ends_at__gt=now or timezone.now())

    def offered_online(self, now=None):
        """The bookable viewings the provider lets buyers book from the internet: the
        ones the public page and the JSON API offer (staff may still book the others)."""
        return self.bookable(now).filter(bookable_from_internet=True)

    def open_for_booking(self, now=None):
        """The viewings offered online whose booking deadline has not passed."""
        now = now or timezone.now()
        return self.offered_online(now).exclude(booking_closes_at__lte=now)

    def imported(self):
        """Viewings read from a provider (an MSPECS deal or a Vitec estate)."""
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
    # MSPECS date-only viewings (docs/mspecs.md): the provider names a day, no time;
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
    # The viewing is no longer in the provider: closed, never deleted (its bookings stay).
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
    def title_and_address(self) -> str:
        """The viewing as the buyer reads it in one line. Imported titles are often the
        street address ("Kungsgatan 5, Göteborg"), so no part is said twice: a title that
        the address holds gives way to it, and an address part the title holds is left out
        ("Storgatan 1, 3 rok" at "Storgatan 1, Uppsala": "Storgatan 1, 3 rok, Uppsala")."""
        title_parts = [part.strip() for part in self.title.split(",")]
        address_parts = [part.strip() for part in self.address.split(",") if part.strip()]
        address = self.address.casefold()
        if address and all(part.casefold() in address for part in title_parts):
            return self.address
        title = self.title.casefold()
        return ", ".join(
            [self.title, *(part for part in address_parts if part.casefold() not in title)]
        )

    @property
    def is_imported(self) -> bool:
        return bool(self.source_id)

    def booking_closed(self, now=None) -> bool:
        """Whether the booking deadline the provider set has passed."""
        return (
            self.booking_closes_at is not None and (now or timezone.now()) >= self.booking_closes_at
        )

    @property
    def needs_slot(self) -> bool:
        """Time-slot viewings book into a slot, and every viewing of a provider whose
        viewings all have slots (Vitec)."""
        return (
            self.viewing_type == self.Type.TIME_SLOTS
            or capabilities_of(self.agency.provider).every_viewing_has_slots
        )

    def clean(self):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("A viewing must end after it starts.")})
        if (
            self.agency_id
            and self.viewing_type == self.Type.TIME_SLOTS
            and capabilities_of(self.agency.provider).polls_slot_status
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
        live bookings the provider had not counted in `number_booked` when it was read
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
    # The provider no longer lists this slot: treat it as closed until staff act.
    missing_from_provider = models.BooleanField(
        default=False, verbose_name=_("missing from the broker system")
    )
    # Places as the provider states them (None: not stated). MSPECS gives the places
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
        """Places a buyer can still take, or None when the provider does not say:
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
        """Our live bookings of the slot that were not delivered when the provider's
        count (`number_booked`) was read, at `status_checked_at`."""
        live = self.bookings.filter(status__in=BookingStatus.live())
        if self.status_checked_at is None:
            return live
        return live.exclude(delivered_at__lte=self.status_checked_at)

    def mark_fully_booked(self) -> None:
        """The provider said the slot is full (e.g. Vitec's booking-limit validation
        error): close it as a slot-status poll would."""
        self.fully_booked = True
        self.status_checked_at = timezone.now()
        self.save(update_fields=["fully_booked", "status_checked_at"])

    def clean(self):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("A slot must end after it starts.")})


class ViewingChange(models.Model):
    """One thing a sync with the provider changed on a viewing, for staff to see."""

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
