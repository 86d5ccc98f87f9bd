"""Slot availability from MSPECS: one slot-status call per deal, never one per slot.

`poll_slots()` is the one code path behind the worker's schedule (`poll_due_slots`),
the admin action "Refresh slot status" and `manage.py poll_slots`. Worker threads only make
HTTP calls; every database read and write happens on the calling thread, so no connection
crosses threads. Calls run with bounded concurrency overall and per agency, so one agency's
slow or large account at a provider cannot take every worker, and back off when MSPECS
answers 429 (bookings/fanout.py).
"""

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.tasks import task
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from agencies.alerts import record_alert
from agencies.models import Agency, AlertKind, CredentialStatus
from agencies.problems import Problem
from bookings.buyer.emails import notify_buyer
from bookings.delivery.redaction import redact_answer
from bookings.fanout import call_each
from bookings.models import Booking, Viewing, ViewingSlot
from bookings.problems import delivery as problems
from bookings.providers import plugin_for, systems_with
from bookings.providers.base import ProviderClient
from bookings.providers.mspecs.client import SlotStatus, SlotStatusError

logger = logging.getLogger(__name__)


@dataclass
class Deal:
    """One MSPECS deal of one agency and the viewings of ours that belong to it."""

    agency_id: int
    deal_id: str
    viewing_ids: list[int] = field(default_factory=list)


@dataclass
class PollSummary:
    deals_polled: int = 0
    slots_changed: int = 0
    bookings_set_aside: int = 0
    errors: dict[str, str] = field(default_factory=dict)  # "agency / deal" -> what went wrong

    def __str__(self) -> str:
        """In the active language (the admin shows it to staff)."""
        return " ".join(
            [
                ngettext("%(count)d deal polled,", "%(count)d deals polled,", self.deals_polled)
                % {"count": self.deals_polled},
                ngettext("%(count)d slot changed,", "%(count)d slots changed,", self.slots_changed)
                % {"count": self.slots_changed},
                ngettext("%(count)d error.", "%(count)d errors.", len(self.errors))
                % {"count": len(self.errors)},
            ]
        )


def pollable_viewings():
    """Time-slot viewings with a deal id, of the providers whose slot status is polled
    (MSPECS): the ones slot status exists for."""
    return Viewing.objects.filter(
        agency__provider__in=systems_with("polls_slot_status"),
        viewing_type=Viewing.Type.TIME_SLOTS,
    ).exclude(mspecs_deal_id="")


def upcoming_viewings(now=None):
    """The pollable viewings whose slots people can still book."""
    return pollable_viewings().bookable(now)


def due_viewings(now=None):
    """Upcoming viewings whose last poll is older than their interval: SLOT_POLL_INTERVAL,
    or SLOT_POLL_INTERVAL_SOON once the viewing starts within SLOT_POLL_SOON_HOURS."""
    now = now or timezone.now()
    soon = Q(starts_at__lte=now + timedelta(hours=settings.SLOT_POLL_SOON_HOURS))
    stale = Q(slots_polled_at__lte=now - timedelta(seconds=settings.SLOT_POLL_INTERVAL))
    stale_soon = Q(slots_polled_at__lte=now - timedelta(seconds=settings.SLOT_POLL_INTERVAL_SOON))
    return upcoming_viewings(now).filter(
        Q(slots_polled_at__isnull=True) | stale | (soon & stale_soon)
    )


def group_by_deal(viewings: Iterable[tuple[int, int, str]]) -> list[Deal]:
    """Deals for (viewing id, agency id, deal id) rows: an agency's deal id is polled once."""
    deals: dict[tuple[int, str], Deal] = {}
    for viewing_id, agency_id, deal_id in viewings:
        deal = deals.setdefault((agency_id, deal_id), Deal(agency_id, deal_id))
        deal.viewing_ids.append(viewing_id)
    return list(deals.values())


def poll_slots(
    viewings=None,
    *,
    on_progress: Callable[[int, int], None] | None = None,
) -> PollSummary:
    """Poll the slot status of every deal behind `viewings` (default: every upcoming one)
    and store it on their slots. A deal that fails is recorded on its viewings and does
    not stop the others."""
    viewings = upcoming_viewings() if viewings is None else viewings
    viewings = viewings.filter(pk__in=pollable_viewings().values("pk"))
    deals = group_by_deal(viewings.values_list("pk", "agency_id", "mspecs_deal_id"))
    agencies = Agency.objects.select_related("credential").in_bulk({d.agency_id for d in deals})
    summary = PollSummary()
    results = _Results(summary, agencies)
    clients = {}
    pending: dict[int, list[Deal]] = defaultdict(list)  # agency id -> deals not started yet
    for deal in deals:
        agency = agencies[deal.agency_id]
        if not hasattr(agency, "credential"):
            results.add_error(deal, problems.NO_CREDENTIAL())
            continue
        if agency.credential.status == CredentialStatus.FAILING:
            # Calling with a refused credential every tick could lock the account at the provider.
            results.add_error(deal, problems.POLL_WAITS_FOR_CREDENTIAL())
            continue
        if agency.pk not in clients:
            clients[agency.pk] = _client(agency)
        pending[agency.pk].append(deal)
    calls = [deal for waiting in pending.values() for deal in waiting]
    done = len(deals) - len(calls)
    outcomes = call_each(
        calls,
        lambda deal: clients[deal.agency_id].slot_status(deal.deal_id),
        concurrency=settings.SLOT_POLL_CONCURRENCY,
        per_agency=settings.SLOT_POLL_CONCURRENCY_PER_AGENCY,
    )
    # Read the slots while the first calls are under way.
    results.load_slots(viewings)
    for deal, outcome in outcomes:
        summary.deals_polled += 1
        if isinstance(outcome, SlotStatusError):
            results.add_error(deal, outcome.problem)
        elif isinstance(outcome, Exception):
            results.add_error(deal, problems.POLL_FAILED(deal=deal.deal_id, answer=repr(outcome)))
        else:
            results.add_status(deal, outcome)
        # Write while the workers carry on calling, a batch at a time.
        if results.due():
            results.write()
        done += 1
        if on_progress:
            on_progress(done, len(deals))
    results.write()
    for client in clients.values():
        client.session.close()
    return summary


@task()
def poll_due_slots() -> str:
    """Slot status of every upcoming MSPECS deal that is due a poll (timed in bookings/tasks.py)."""
    return str(poll_slots(due_viewings()))


# Results are written in one transaction per batch of deals (or per second, whichever comes
# first): a few queries per batch instead of per deal keeps a large poll bound by the broker
# system's latency rather than by database round trips.
WRITE_BATCH = 100
WRITE_EVERY_SECONDS = 1.0


def _client(agency: Agency) -> ProviderClient:
    client_class = plugin_for(agency.provider).client_class
    # Enough pooled connections for every call this agency may have in flight.
    session = client_class.new_session(
        agency.credential, pool_size=settings.SLOT_POLL_CONCURRENCY_PER_AGENCY
    )
    return client_class(agency.credential, session)


# What a slot status answer sets on a slot, and so what a poll compares and writes.
POLLED = ("number_booked", "fully_booked", "status_unknown")


def polled_state(slot: ViewingSlot) -> tuple:
    return tuple(getattr(slot, field) for field in POLLED)


class _Results:
    """Poll outcomes gathered on the calling thread until `write()` stores them."""

    def __init__(self, summary: PollSummary, agencies: dict[int, Agency]):
        self.summary = summary
        self.agencies = agencies
        self.slots: dict[int, list[ViewingSlot]] = defaultdict(list)  # viewing id -> slots
        self._clear()

    def load_slots(self, viewings) -> None:
        for slot in ViewingSlot.objects.filter(viewing__in=viewings.values("pk")):
            self.slots[slot.viewing_id].append(slot)

    def due(self) -> bool:
        return len(self) >= WRITE_BATCH or (
            time.monotonic() - self.written_at >= WRITE_EVERY_SECONDS
        )

    def _clear(self) -> None:
        self.written_at = time.monotonic()
        self.polled_viewing_ids: list[int] = []
        self.changed_slots: list[ViewingSlot] = []
        self.unbookable_slot_ids: list[int] = []
        self.failed: list[tuple[list[int], Problem]] = []  # (viewing ids, problem)

    def __len__(self) -> int:
        return len(self.polled_viewing_ids) + len(self.failed)

    def add_status(self, deal: Deal, statuses: dict[str, SlotStatus]) -> None:
        for viewing_id in deal.viewing_ids:
            self.polled_viewing_ids.append(viewing_id)
            for slot in self.slots[viewing_id]:
                before = polled_state(slot)
                status = statuses.get(slot.provider_slot_id)
                if status is None:
                    # Not in the answer, though the viewing lists it (whether the slot
                    # exists is the sync's to say): its status is unknown, not "full".
                    slot.status_unknown, slot.fully_booked = True, False
                else:
                    slot.status_unknown = False
                    slot.number_booked = status.number_booked
                    slot.fully_booked = status.fully_booked
                if before != polled_state(slot):
                    self.changed_slots.append(slot)
                if not slot.is_bookable:
                    self.unbookable_slot_ids.append(slot.pk)

    def add_error(self, deal: Deal, problem: Problem) -> None:
        agency = self.agencies[deal.agency_id]
        problem = redact_answer(problem, getattr(agency, "credential", None))
        self.failed.append((deal.viewing_ids, problem))
        self.summary.errors[f"{agency} / {deal.deal_id}"] = str(problem)
        # The problem's code only: its parameters may quote the provider's answer.
        logger.warning(
            "Slot poll failed: %s",
            problem.code,
            extra={
                "agency_id": deal.agency_id,
                "viewing_ids": deal.viewing_ids,
                "deal_id": deal.deal_id,
                "problem": problem.code,
            },
        )

    def write(self) -> None:
        if not len(self):
            return
        now = timezone.now()
        with transaction.atomic():
            ViewingSlot.objects.filter(viewing__in=self.polled_viewing_ids).update(
                status_checked_at=now
            )
            # One UPDATE per distinct new state: far fewer than slots, and cheaper than
            # bulk_update's CASE per row.
            by_state = defaultdict(list)
            for slot in self.changed_slots:
                by_state[polled_state(slot)].append(slot.pk)
            for state, slot_ids in by_state.items():
                ViewingSlot.objects.filter(pk__in=slot_ids).update(
                    **dict(zip(POLLED, state, strict=True))
                )
            Viewing.objects.filter(pk__in=self.polled_viewing_ids).update(
                slots_polled_at=now, slot_poll_problem=None
            )
            for viewing_ids, problem in self.failed:
                failing = Viewing.objects.filter(pk__in=viewing_ids)
                # Failed before too: polling keeps failing, which administrators are told.
                for viewing in failing.filter(slot_poll_problem__isnull=False):
                    record_alert(
                        viewing.agency_id,
                        AlertKind.SLOT_POLLING_FAILING,
                        str(viewing),
                        problem,
                        reverse("admin:bookings_viewing_change", args=[viewing.pk]),
                    )
                failing.update(slots_polled_at=now, slot_poll_problem=problem)
            if self.unbookable_slot_ids:
                waiting = Booking.objects.filter(slot__in=self.unbookable_slot_ids)
                set_aside = waiting.set_aside_for_unbookable_slots()
                for booking_id in set_aside:
                    notify_buyer(booking_id, Booking.Status.REJECTED)
                self.summary.bookings_set_aside += len(set_aside)
        self.summary.slots_changed += len(self.changed_slots)
        self._clear()
