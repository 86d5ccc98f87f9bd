"""The nightly retention run (timed in bookings/tasks.py)."""

from django.tasks import task

from bookings.privacy import retention


@task()
def apply_retention() -> str:
    """Anonymise and prune what is past its retention (see retention.py)."""
    report = retention.apply_retention()
    return f"{report.total('bookings_anonymised')} bookings anonymised in {report.batches} batches"
