"""The periodic reads of the providers (timed in bookings/tasks.py). A webhook event's
task lives beside its handling, in webhooks.py, whose view enqueues it."""

from django.tasks import task

from bookings.viewing_import import nightly, sync


@task()
def sync_imported_viewings() -> str:
    """Re-read the deals and estates behind upcoming imported viewings, of the broker
    systems that allow scheduled reads; where the provider lists what changed (Vitec),
    only those changed (see sync.py)."""
    return str(sync.sync_changed(sync.sources_of(sync.scheduled_viewings())))


@task()
def catch_up_source_events() -> str:
    """Nightly: the events a provider's webhook may have missed, from its list of
    sources (see nightly.py)."""
    return str(nightly.catch_up())
