"""The alert digests' task (timed in bookings/tasks.py)."""

from django.tasks import task

from agencies import alerts


@task()
def send_alert_digests() -> int:
    """Email alerts to agency administrators, at most one per agency and kind per
    ALERT_DIGEST_MINUTES (see alerts.py)."""
    return alerts.send_due_digests()
