"""Slot availability from MSPECS: one slot-status call per deal, never one per slot.

`poll_slots()` is the one code path behind the worker's schedule (`tasks.poll_due_slots`),
the admin action "Refresh slot status" and `manage.py poll_slots`. Worker threads only make
HTTP calls; every database read and write happens on the calling thread, so no connection
crosses threads. Calls run with bounded concurrency overall and per agency, so one agency's
slow or large broker account cannot take every worker.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from agencies.models import Agency, BrokerSystem
from bookings.models import Booking, Viewing, ViewingSlot
from bookings.providers.mspecs import MspecsClient, SlotStatus, SlotStatusError


@dataclass
class Deal:
    """One MSPECS deal of one agency and the viewings of ours that belong to it."""

    agency: Agency
    deal_id: str
    viewings: list[Viewing] = field(default_factory=list)


@dataclass
class PollSummary:
    deals_polled: int = 0
    slots_changed: int = 0
    bookings_set_aside: int = 0
    errors: dict[str, str] = field(default_factory=dict)  # "agency / deal" -> what went wrong

    def __str__(self) -> str:
        return (
            f"{self.deals_polled} deals polled, {self.slots_changed} slots changed, "
            f"{len(self.errors)} errors"
        )


def pollable_viewings():
    """MSPECS time-slot viewings that can be polled: they have a deal id, and their agency a
    credential."""
    return Viewing.objects.filter(
        agency__broker_system=BrokerSystem.MSPECS,
        viewing_type=Viewing.Type.TIME_SLOTS,
    ).exclude(mspecs_deal_id="")


def upcoming_viewings(now=None):
    """Open, active, not yet ended: the viewings whose slots people can still book."""
    now = now or timezone.now()
    return pollable_viewings().filter(is_open=True, agency__is_active=True, ends_at__gt=now)


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


def group_by_deal(viewings: Iterable[Viewing]) -> list[Deal]:
    deals: dict[tuple[int, str], Deal] = {}
    for viewing in viewings:
        key = (viewing.agency_id, viewing.mspecs_deal_id)
        deals.setdefault(key, Deal(viewing.agency, viewing.mspecs_deal_id)).viewings.append(viewing)
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
    viewings = (
        viewings.filter(pk__in=pollable_viewings().values("pk"))
        .select_related("agency__credential")
        .prefetch_related("slots")
    )
    deals = group_by_deal(viewings)
    summary = PollSummary()
    clients = {}
    for deal in deals:
        agency = deal.agency
        if agency.pk not in clients and hasattr(agency, "credential"):
            clients[agency.pk] = _client(agency)

    pending: dict[int, list[Deal]] = defaultdict(list)  # agency id -> deals not started yet
    for deal in deals:
        if deal.agency.pk in clients:
            pending[deal.agency.pk].append(deal)
        else:
            _store_error(deal, "The agency has no broker-system credential.", summary)
    done = len(deals) - sum(len(queue) for queue in pending.values())

    per_agency = settings.SLOT_POLL_CONCURRENCY_PER_AGENCY
    in_flight: dict[Future, Deal] = {}
    running: dict[int, int] = defaultdict(int)  # agency id -> calls in flight
    with ThreadPoolExecutor(settings.SLOT_POLL_CONCURRENCY) as pool:

        def start_what_fits():
            for agency_id, queue in pending.items():
                while (
                    queue
                    and running[agency_id] < per_agency
                    and len(in_flight) < settings.SLOT_POLL_CONCURRENCY
                ):
                    deal = queue.pop()
                    running[agency_id] += 1
                    in_flight[pool.submit(clients[agency_id].slot_status, deal.deal_id)] = deal

        start_what_fits()
        while in_flight:
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                deal = in_flight.pop(future)
                running[deal.agency.pk] -= 1
                start_what_fits()  # keep the pool busy while this thread writes
                summary.deals_polled += 1
                try:
                    _store_status(deal, future.result(), summary)
                except SlotStatusError as error:
                    _store_error(deal, str(error), summary)
                done += 1
                if on_progress:
                    on_progress(done, len(deals))
    for client in clients.values():
        client.session.close()
    return summary


def _client(agency: Agency) -> MspecsClient:
    # Enough pooled connections for every call this agency may have in flight.
    session = MspecsClient.new_session(agency.credential)
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=settings.SLOT_POLL_CONCURRENCY_PER_AGENCY)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return MspecsClient(agency.credential, session)


def _store_status(deal: Deal, statuses: dict[str, SlotStatus], summary: PollSummary) -> None:
    now = timezone.now()
    slots = [slot for viewing in deal.viewings for slot in viewing.slots.all()]
    for slot in slots:
        before = (slot.number_booked, slot.fully_booked, slot.missing_from_provider)
        status = statuses.get(slot.provider_slot_id)
        if status is None:
            slot.missing_from_provider = True
        else:
            slot.missing_from_provider = False
            slot.number_booked = status.number_booked
            slot.fully_booked = status.fully_booked
        slot.status_checked_at = now
        if before != (slot.number_booked, slot.fully_booked, slot.missing_from_provider):
            summary.slots_changed += 1
    with transaction.atomic():
        ViewingSlot.objects.bulk_update(
            slots, ["number_booked", "fully_booked", "missing_from_provider", "status_checked_at"]
        )
        Viewing.objects.filter(pk__in=[v.pk for v in deal.viewings]).update(
            slots_polled_at=now, slot_poll_error=""
        )
        waiting = Booking.objects.filter(slot__in=[s for s in slots if not s.is_bookable])
        summary.bookings_set_aside += waiting.set_aside_for_unbookable_slots()


def _store_error(deal: Deal, message: str, summary: PollSummary) -> None:
    Viewing.objects.filter(pk__in=[v.pk for v in deal.viewings]).update(
        slots_polled_at=timezone.now(), slot_poll_error=message[:500]
    )
    summary.errors[f"{deal.agency} / {deal.deal_id}"] = message
