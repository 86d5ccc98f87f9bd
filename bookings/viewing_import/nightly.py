"""The nightly catch-up for providers that push their changes to our webhook (MSPECS,
docs/mspecs.md "When we read deal data"): a missed event must not leave a deal stale,
and MSPECS forbids reading deals on a schedule except to "sync missing events" from its
published-deals list once a night.

For each such agency with upcoming imported viewings: one read of its list of sources
(`list_sources`); the imported deals it lists are read again (`sync_sources`), and those it
no longer lists are closed as an UN_PUBLISH event would (MSPECS: "If a deal is not in the
published deal query then it should be removed"). An agency whose list cannot be read is
left as it is.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings

from agencies.models import Agency, CredentialStatus
from bookings.delivery.redaction import redact_answer
from bookings.fanout import call_each
from bookings.problems import viewing_import as problems
from bookings.providers import PLUGINS, client_for
from bookings.providers.base import SourceReadError
from bookings.viewing_import.sync import (
    Source,
    SyncSummary,
    apply_source,
    sources_of,
    sync_sources,
    syncable_viewings,
)

logger = logging.getLogger(__name__)


@dataclass
class CatchUpSummary:
    lists_read: int = 0
    closed: int = 0  # deals the list no longer has
    synced: SyncSummary = field(default_factory=SyncSummary)
    errors: dict[str, str] = field(default_factory=dict)  # agency -> why its list was not read

    def __str__(self) -> str:
        return (
            f"{self.lists_read} lists read, {self.closed} deals closed, {self.synced}; "
            f"{len(self.errors)} lists not read"
        )


@dataclass
class _ListOf:
    """An agency whose list of sources is read (bookings/fanout.py's item)."""

    agency_id: int


def catch_up(now=None) -> CatchUpSummary:
    summary = CatchUpSummary()
    systems = [system for system, plugin in PLUGINS.items() if plugin.pushes_source_events]
    imported = defaultdict(list)  # agency id -> its imported deals with upcoming viewings
    viewings = syncable_viewings(now).filter(agency__provider__in=systems)
    for source in sources_of(viewings.filter(agency__is_active=True)):
        imported[source.agency_id].append(source.source_id)
    agencies = Agency.objects.select_related("credential").in_bulk(list(imported))
    to_sync = []
    for agency_id, listed in listed_sources(agencies, summary):
        agency, deal_ids = agencies[agency_id], imported[agency_id]
        to_sync += [Source(agency_id, deal_id) for deal_id in deal_ids if deal_id in listed]
        for deal_id in deal_ids:
            if deal_id not in listed:
                apply_source(agency, deal_id, [])
                summary.closed += 1
    summary.synced = sync_sources(to_sync)
    return summary


def listed_sources(agencies: dict[int, Agency], summary: CatchUpSummary):
    """(agency id, the ids its list of sources has now) for each agency whose list could be
    read, the lists read a few at a time (bookings/fanout.py); the reason for each other
    agency goes into `summary`."""
    readable = []
    for agency in agencies.values():
        credential = getattr(agency, "credential", None)
        if credential is None:
            not_read(agency, problems.SOURCE_NO_CREDENTIAL(), summary)
        elif credential.status == CredentialStatus.FAILING:
            not_read(agency, problems.SOURCE_WAITS_FOR_CREDENTIAL(), summary)
        else:
            readable.append(_ListOf(agency.pk))
    outcomes = call_each(
        readable,
        lambda item: client_for(agencies[item.agency_id].credential).list_sources(),
        concurrency=settings.VIEWING_SYNC_CONCURRENCY,
        per_agency=1,
    )
    for item, outcome in outcomes:
        agency = agencies[item.agency_id]
        if isinstance(outcome, SourceReadError):
            not_read(agency, redact_answer(outcome.problem, agency.credential), summary)
        elif isinstance(outcome, Exception):
            raise outcome
        else:
            summary.lists_read += 1
            yield agency.pk, {listing.source_id for listing in outcome}


def not_read(agency: Agency, problem, summary: CatchUpSummary) -> None:
    summary.errors[str(agency)] = str(problem)
    logger.warning("Nightly catch-up: the list of %s was not read: %s", agency, problem)
