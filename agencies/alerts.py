"""Email alerts to an agency's administrators: a credential starts failing, bookings end
failed or needing review, slot polling keeps failing.

Where it happens, `record_alert` only saves a row (never an email in a delivery call). The
scheduler (`manage.py crontask`, agencies.tasks.send_alert_digests) sends `send_due_digests`:
at most one email per agency and kind every ALERT_DIGEST_MINUTES, listing everything that
happened since the last one, to each administrator who has not turned alerts off, in the
language they chose (Membership.email_alerts, Membership.language)."""

from collections import defaultdict
from datetime import timedelta
from urllib.parse import urljoin

from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.db import transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from agencies.models import Agency, Alert, AlertKind, Membership
from agencies.problems import Problem


def record_alert(
    agency: Agency | int, kind: AlertKind, subject: str, problem: Problem | None, admin_path=""
) -> None:
    """Keep it for the next digest; the same thing again before then is one line in it, with
    its latest problem (slot polling that fails every minute is one line, not sixty)."""
    subject = str(subject)[: Alert._meta.get_field("subject").max_length]
    agency_id = getattr(agency, "pk", agency)
    unsent = Alert.objects.filter(
        agency=agency_id, kind=kind, subject=subject, sent_at__isnull=True
    )
    if not unsent.update(problem=problem):
        Alert.objects.create(
            agency_id=agency_id, kind=kind, subject=subject, problem=problem, admin_path=admin_path
        )


def send_due_digests(now=None) -> int:
    """Send the digests that are due; returns how many emails went out."""
    now = now or timezone.now()
    interval = timedelta(minutes=settings.ALERT_DIGEST_MINUTES)
    pending = Alert.objects.filter(sent_at__isnull=True).values_list("agency", "kind").distinct()
    last_sent = {
        (agency, kind): last
        for agency, kind, last in Alert.objects.filter(sent_at__isnull=False)
        .values("agency", "kind")
        .annotate(last=Max("sent_at"))
        .values_list("agency", "kind", "last")
    }
    sent = 0
    for agency_id, kind in set(pending):
        last = last_sent.get((agency_id, kind))
        if last is not None and now - last < interval:
            continue
        sent += send_digest(agency_id, kind, now)
    return sent


@transaction.atomic
def send_digest(agency_id: int, kind: str, now) -> int:
    """One agency's unsent alerts of one kind, in one email per recipient. The rows are
    marked sent in the same transaction: if sending fails, they are sent next time."""
    alerts = list(
        Alert.objects.select_for_update()
        .filter(agency=agency_id, kind=kind, sent_at__isnull=True)
        .select_related("agency")
        .order_by("created_at", "pk")
    )
    if not alerts:
        return 0
    recipients = defaultdict(list)
    for email, language in (
        Membership.objects.filter(
            agency=agency_id,
            role=Membership.Role.ADMIN,
            email_alerts=True,
            user__is_active=True,
        )
        .exclude(user__email="")
        .values_list("user__email", "language")
    ):
        recipients[language].append(email)
    messages = []
    for language, emails in recipients.items():
        with translation.override(language):
            subject, body = render_digest(alerts[0].agency, kind, alerts)
        # One email per recipient: administrators do not see each other's addresses.
        messages += [EmailMessage(subject, body, to=[email]) for email in emails]
    if messages:
        mailers.default.send_messages(messages)
    Alert.objects.filter(pk__in=[alert.pk for alert in alerts]).update(sent_at=now)
    return len(messages)


def render_digest(agency: Agency, kind: str, alerts: list[Alert]) -> tuple[str, str]:
    """Subject and body in the active language."""
    count = len(alerts)
    subject = ngettext(
        "Viewing Bridge: %(agency)s: %(kind)s (%(count)d event)",
        "Viewing Bridge: %(agency)s: %(kind)s (%(count)d events)",
        count,
    ) % {"agency": agency.name, "kind": AlertKind(kind).label, "count": count}
    items = [
        {
            "subject": alert.subject,
            "problem": str(alert.problem) if alert.problem else "",
            "url": urljoin(settings.SITE_URL, alert.admin_path) if alert.admin_path else "",
            "at": timezone.localtime(alert.created_at),
        }
        for alert in alerts
    ]
    body = render_to_string(
        "agencies/email/alert_digest.txt",
        {
            "agency": agency,
            "kind": AlertKind(kind).label,
            "items": items,
            "settings_url": urljoin(settings.SITE_URL, "/admin/agencies/membership/mine/"),
            "intro": gettext("This happened at %(agency)s since the last email:")
            % {"agency": agency.name},
        },
    )
    return subject, body
