"""The audit trail: who did what to a booking (or a quarantine entry, a credential), when
and why, kept in Django's admin log (LogEntry) so that it shows in the object's History,
and the booking's timeline built from it.

One store for every actor. LogEntry needs a user, and not every actor signs in: a
management command's operator, the buyer on their status page and Viewing Bridge itself
(the emails it sends) are each a marker account (`Actor`), inactive, without a usable
password and named outside Django's username rules, so no real account can take the
name or sign in as it. The change message holds codes only (what, through which door,
a time or an outcome), never the buyer's data, so erasing a buyer keeps the trail of
what was done (bookings/privacy/anonymise.py)."""

import json
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from agencies.models import CredentialStatus
from bookings.models import Booking

# Django's own change messages start with [{"added" / "changed" / "deleted".
MARK = "audit"
PREFIX = f'[{{"{MARK}"'
# The newest this many entries and attempts each: a booking re-sent for years stays one page.
TIMELINE_LIMIT = 100


class Actor(models.TextChoices):
    """Who acted when no staff member did; the value is the marker account's username."""

    OPERATOR = "(operator)", _("the operator (management command)")
    BUYER = "(buyer)", _("the buyer")
    SYSTEM = "(system)", _("Viewing Bridge")


class Action(models.TextChoices):
    SEND_NOW = "send_now", _("Queued to be sent now")
    RESEND = "resend", _("Queued to be sent again")
    CANCEL = "cancel", _("Cancelled")
    CANCEL_UNSENT = "cancel_unsent", _("Cancelled")
    CANCEL_AS_THE_BUYER_ASKED = (
        "cancel_as_the_buyer_asked",
        _("Cancelled as the buyer asked (removed in the broker system)"),
    )
    MARK_DELIVERED = "mark_delivered", _("Marked as delivered (checked in the broker system)")
    ASK_TO_CANCEL = "ask_to_cancel", _("Asked to cancel")
    ERASE = "erase", _("Personal data erased")
    EXPORT = "export", _("Personal data exported")
    EMAIL = "email", _("Email sent to the buyer")
    APPROVED = "approved", _("Quarantine entry approved")
    DECLINED = "declined", _("Quarantine entry declined")
    TEST_CONNECTION = "test_connection", _("Connection tested")


class Door(models.TextChoices):
    """Through which door, and so why: what the staff member or the process was doing."""

    LIST = "list", _("on the booking list")
    PAGE = "page", _("on the booking's page")
    SAVE_AND_RESEND = "save_and_resend", _("saved and re-sent on the booking's page")
    REPLAY = "replay", _("re-sending the agency's failed and held bookings received since")
    STATUS_PAGE = "status_page", _("on the buyer's status page")
    ERASURE = "erasure", _("for an erasure request")
    ACCESS = "access", _("for an access request")
    RETENTION = "retention", _("past its retention period")
    MIRROR = "mirror", _("in the quarantine mirror")
    CREDENTIAL_PAGE = "credential_page", _("in the admin")
    DEMO = "demo", _("setting up the demo")
    WORKER = "worker", _("by the worker")


@dataclass(frozen=True)
class By:
    """Who acts (a user, or an Actor), through which door, with what details (codes,
    times or outcomes, never personal data: a replay's `since`)."""

    who: object
    door: Door
    details: dict = field(default_factory=dict)

    def resolved(self) -> "By":
        """The same, naming the marker account itself (looked up once for many records)."""
        return replace(self, who=actor_user(self.who))


def actor_user(who):
    """The user an entry names: the staff member, or an actor's marker account."""
    if not isinstance(who, Actor):
        return who
    user, _created = get_user_model().objects.get_or_create(
        username=who.value, defaults={"is_active": False, "password": "!"}
    )
    return user


def record(by: By, objects, action: Action) -> None:
    """Log `action` on each of `objects` (of one model), done as `by` says."""
    objects = list(objects)
    if not objects:
        return
    content_type = ContentType.objects.get_for_model(objects[0])
    message = json.dumps([{MARK: {"action": action, "door": by.door, **by.details}}])
    user = actor_user(by.who)
    LogEntry.objects.bulk_create(
        LogEntry(
            user=user,
            content_type=content_type,
            object_id=str(obj.pk),
            object_repr=str(obj)[:200],
            action_flag=CHANGE,
            change_message=message,
        )
        for obj in objects
    )


def audit_entries() -> Q:
    """The log entries this module wrote (their messages hold no personal data)."""
    return Q(change_message__startswith=PREFIX)


# The buyer's emails that tell of no end status (bookings/buyer/emails.py), by the code
# the trail keeps for them.
RECEIPT = "receipt"
CORRECTION = "correction"

# The words for each code an entry keeps, built once (lazy: translated when shown). An
# email's kind is the end status it tells of, or one of the kinds above.
ACTION_WORDS = dict(Action.choices)
DOOR_WORDS = dict(Door.choices)
EMAIL_KIND_WORDS = {
    **dict(Booking.Status.choices),
    RECEIPT: _("receipt"),
    CORRECTION: _("correction: delivered after all"),
}


def describe(entry: LogEntry) -> str:
    """What an entry says, in the reader's language: ours by their codes, Django's own
    (adding, changing fields) as its History page words them."""
    if not entry.change_message.startswith(PREFIX):
        return entry.get_change_message() or entry.get_action_flag_display()
    details = dict(json.loads(entry.change_message)[0][MARK])
    action, door = details.pop("action"), details.pop("door")
    # A code this version does not know (written by a later one) is shown as it is.
    words = [str(ACTION_WORDS.get(action, action)), str(DOOR_WORDS.get(door, door))]
    if "since" in details:
        words.append(short_time(parse_datetime(details["since"])))
    if "kind" in details:  # an email's
        words.append(f"({EMAIL_KIND_WORDS.get(details['kind'], details['kind'])})")
    if "outcome" in details:  # a connection test's: the credential's status after it
        words.append(f"({CredentialStatus(details['outcome']).label})")
    return " ".join(words)


def who(user) -> str:
    """The name an entry's user is shown by: a marker's label, or the staff member's."""
    if user.username in Actor.values:
        return str(Actor(user.username).label)
    return user.get_full_name() or user.username


def short_time(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str  # received, attempt or action: the row's class in the page's style sheet
    who: str
    what: str


def received(booking: Booking) -> Event:
    """How the booking came in, and the consent recorded with it (bookings/consent.py)."""
    door = booking.get_source_display()
    if booking.consent_api_key_id:
        door = gettext("%(door)s, API key %(key)s") % {
            "door": door,
            "key": booking.consent_api_key,
        }
    if booking.consent_given_at:
        consent = gettext("consent given (text version %(version)s)") % {
            "version": booking.consent_text_version[:12]
        }
    else:
        consent = gettext("lawful basis: %(basis)s") % {
            "basis": booking.get_lawful_basis_display() or "—"
        }
    return Event(
        booking.created_at,
        "received",
        who(booking.entered_by) if booking.entered_by_id else entered_by_whom(booking),
        gettext("Received through %(door)s; %(consent)s") % {"door": door, "consent": consent},
    )


def entered_by_whom(booking: Booking) -> str:
    """A booking with no staff member recorded: the buyer's own, unless it came through the
    admin before entries were recorded."""
    return "—" if booking.source == Booking.Source.ADMIN else str(Actor.BUYER.label)


def timeline(booking: Booking) -> list[Event]:
    """Everything that happened to the booking, oldest first: received, each delivery
    attempt, each action by staff, the buyer or the operator, each email. Two bounded
    queries, whatever the booking's age."""
    attempts = booking.attempts.order_by("-started_at", "-pk")[:TIMELINE_LIMIT]
    entries = (
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Booking), object_id=str(booking.pk)
        )
        .select_related("user")
        .order_by("-action_time", "-pk")[:TIMELINE_LIMIT]
    )
    system = str(Actor.SYSTEM.label)
    events = [received(booking)]
    events += [
        Event(attempt.started_at, "attempt", system, gettext("Delivery attempt: %s") % attempt)
        for attempt in attempts
    ]
    events += [Event(e.action_time, "action", who(e.user), describe(e)) for e in entries]
    return sorted(events, key=lambda event: event.at)
