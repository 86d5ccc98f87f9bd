"""Retention: personal data past its period is anonymised or deleted, in short batches,
by the nightly job and by `manage.py apply_retention`; an agency may shorten the period."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from agencies.models import ApiKey, Provider
from bookings.delivery.tasks import deliver_booking
from bookings.models import (
    Booking,
    DeliveryAttempt,
    IdempotentRequest,
    QuarantineDecision,
    WebhookEvent,
)
from bookings.privacy import tasks
from bookings.privacy.retention import apply_retention
from tests.factories import delivered_booking, make_agency, make_booking, make_viewing
from tests.viewing_import import test_webhook as webhook

pytestmark = pytest.mark.django_db


def viewing_ended(agency, days_ago: float):
    ends_at = timezone.now() - timedelta(days=days_ago)
    return make_viewing(agency, starts_at=ends_at - timedelta(hours=1), ends_at=ends_at)


def booking_ended(agency, days_ago: float, **fields):
    return delivered_booking(viewing_ended(agency, days_ago), **fields)


def refreshed(row):
    row.refresh_from_db()
    return row


def test_a_booking_past_the_retention_period_is_anonymised(settings):
    settings.BOOKING_RETENTION_DAYS = 90
    booking = booking_ended(make_agency(), days_ago=91, email="old@example.se")

    apply_retention()

    booking = refreshed(booking)
    assert booking.anonymised_at is not None
    assert (booking.first_name, booking.phone) == ("", "")
    assert booking.email.endswith("@erased.invalid")
    assert booking.status == Booking.Status.DELIVERED


def test_a_booking_within_the_retention_period_is_kept(settings):
    settings.BOOKING_RETENTION_DAYS = 90
    booking = booking_ended(make_agency(), days_ago=89, email="recent@example.se")

    apply_retention()

    assert refreshed(booking).email == "recent@example.se"


def test_a_booking_of_an_upcoming_viewing_is_kept():
    booking = make_booking(make_viewing(make_agency()), email="soon@example.se")

    apply_retention()

    assert refreshed(booking).email == "soon@example.se"


def test_an_agencys_shorter_retention_applies_to_its_bookings_only(settings):
    settings.BOOKING_RETENTION_DAYS = 90
    short = make_agency(booking_retention_days=7)
    default = make_agency()
    shortened = booking_ended(short, days_ago=8)
    kept = booking_ended(default, days_ago=8)

    report = apply_retention()

    assert refreshed(shortened).anonymised_at is not None
    assert refreshed(kept).anonymised_at is None
    assert report.per_agency[short.slug]["bookings_anonymised"] == 1


def test_an_agency_period_longer_than_the_operators_is_capped(settings):
    agency = make_agency(booking_retention_days=365)
    settings.BOOKING_RETENTION_DAYS = 30  # lowered by the operator since
    booking = booking_ended(agency, days_ago=31)

    apply_retention()

    assert refreshed(booking).anonymised_at is not None


def test_a_waiting_booking_past_retention_is_cancelled_then_anonymised(settings):
    settings.BOOKING_RETENTION_DAYS = 90
    booking = make_booking(viewing_ended(make_agency(), 100), status=Booking.Status.RETRYING)

    report = apply_retention()

    booking = refreshed(booking)
    assert (booking.status, booking.anonymised_at is not None) == (Booking.Status.CANCELLED, True)
    assert report.total("bookings_cancelled") == 1


def test_a_booking_being_sent_is_left_for_the_next_run(settings):
    booking = make_booking(viewing_ended(make_agency(), 100), status=Booking.Status.SENDING)

    apply_retention()

    assert refreshed(booking).anonymised_at is None


def test_quarantine_decisions_of_expired_viewings_are_anonymised(settings):
    agency = make_agency()
    old, recent = viewing_ended(agency, 100), viewing_ended(agency, 1)
    for viewing in (old, recent):
        QuarantineDecision.objects.create(
            viewing=viewing, email="a@example.se", decision="approved"
        )

    apply_retention()

    assert list(QuarantineDecision.objects.filter(email="a@example.se")) == list(
        QuarantineDecision.objects.filter(viewing=recent)
    )


def test_old_delivery_attempts_are_deleted(settings):
    settings.DELIVERY_ATTEMPT_RETENTION_DAYS = 30
    booking = make_booking(make_viewing(make_agency()))
    for days_ago in (31, 29):
        DeliveryAttempt.objects.create(
            booking=booking,
            endpoint="POST",
            outcome="retry",
            started_at=timezone.now() - timedelta(days=days_ago),
        )

    report = apply_retention()

    assert DeliveryAttempt.objects.count() == 1
    assert report.total("delivery_attempts_deleted") == 1


def test_old_idempotency_records_are_deleted(settings):
    settings.IDEMPOTENCY_RETENTION_DAYS = 30
    api_key = ApiKey.issue(make_agency(), "Website")[0]
    for digest in ("old", "new"):
        IdempotentRequest.objects.create(
            api_key=api_key,
            key_digest=digest,
            request_fingerprint="f",
            response_status=202,
            response_body={},
        )
    IdempotentRequest.objects.filter(key_digest="old").update(
        created_at=timezone.now() - timedelta(days=31)
    )

    apply_retention()

    assert list(IdempotentRequest.objects.values_list("key_digest", flat=True)) == ["new"]


def test_finished_task_results_are_deleted_after_their_period(settings):
    settings.TASK_RESULT_RETENTION_DAYS = 14
    booking = make_booking(make_viewing(make_agency()))
    for _ in range(3):
        deliver_booking.enqueue(booking.pk)
    old, recent, unfinished = DBTaskResult.objects.order_by("enqueued_at")
    DBTaskResult.objects.filter(pk=old.pk).update(
        status="SUCCESSFUL", finished_at=timezone.now() - timedelta(days=15)
    )
    DBTaskResult.objects.filter(pk=recent.pk).update(
        status="FAILED", finished_at=timezone.now() - timedelta(days=13)
    )

    report = apply_retention()

    assert set(DBTaskResult.objects.values_list("pk", flat=True)) == {recent.pk, unfinished.pk}
    assert report.task_results_deleted == 1


def test_expired_sessions_are_cleared():
    Session.objects.create(
        session_key="old", session_data="", expire_date=timezone.now() - timedelta(days=1)
    )
    Session.objects.create(
        session_key="new", session_data="", expire_date=timezone.now() + timedelta(days=1)
    )

    apply_retention()

    assert list(Session.objects.values_list("session_key", flat=True)) == ["new"]


def test_retention_runs_in_batches_of_the_configured_size(settings):
    settings.RETENTION_BATCH_SIZE = 2
    agency = make_agency()
    viewing = viewing_ended(agency, 100)
    for n in range(5):
        delivered_booking(viewing, email=f"b{n}@example.se")

    report = apply_retention()

    assert report.batches == 3
    assert not Booking.objects.filter(anonymised_at__isnull=True).exists()
    assert 0 < report.longest_batch_seconds < 1


def test_a_second_run_finds_nothing_left():
    booking_ended(make_agency(), 100)
    apply_retention()

    report = apply_retention()

    assert report.total("bookings_anonymised") == 0 and report.batches == 0


def test_the_nightly_job_applies_retention(settings):
    booking = booking_ended(make_agency(), 100)

    result = tasks.apply_retention.call()

    assert refreshed(booking).anonymised_at is not None
    assert result.startswith("1 bookings anonymised")


# --- manage.py apply_retention ------------------------------------------------------------


def test_the_dry_run_prints_per_agency_counts_and_changes_nothing(capsys):
    agency = make_agency(slug="old-agency")
    booking = booking_ended(agency, 100, email="old@example.se")

    call_command("apply_retention", "--dry-run")

    out = capsys.readouterr().out
    assert "dry run" in out
    assert "old-agency: bookings_anonymised=1" in out
    assert refreshed(booking).email == "old@example.se"


def test_the_command_prints_what_it_did_per_agency(capsys):
    booking_ended(make_agency(slug="old-agency"), 100)

    call_command("apply_retention")

    out = capsys.readouterr().out
    assert "old-agency: bookings_anonymised=1, bookings_cancelled=0" in out
    assert "1 batches" in out


def test_the_command_shows_a_progress_bar_on_large_runs(capsys, monkeypatch):
    from bookings.management.commands import apply_retention as command

    monkeypatch.setattr(command, "PROGRESS_BAR_FROM_ROWS", 2)
    viewing = viewing_ended(make_agency(), 100)
    for n in range(3):
        delivered_booking(viewing, email=f"b{n}@example.se")

    call_command("apply_retention")

    assert "3/3 rows" in capsys.readouterr().out


def test_a_small_run_shows_no_progress_bar(capsys):
    booking_ended(make_agency(), 100)

    call_command("apply_retention")

    assert "rows" not in capsys.readouterr().out.split("per agency")[0]


def test_the_command_deletes_webhook_events_past_their_period(client, settings, capsys):
    settings.MSPECS_WEBHOOK_SECRET = webhook.SECRET
    settings.WEBHOOK_EVENT_RETENTION_DAYS = 30
    make_agency(Provider.MSPECS, slug="pushed-to", mspecs_subscriber_id=webhook.SUBSCRIBER)
    for deal_id in ("deal-old", "deal-new"):
        assert webhook.post(client, webhook.event(deal_id=deal_id)).status_code == 200
    WebhookEvent.objects.filter(source_id="deal-old").update(
        received_at=timezone.now() - timedelta(days=31)
    )

    call_command("apply_retention")

    assert list(WebhookEvent.objects.values_list("source_id", flat=True)) == ["deal-new"]
    assert "webhook_events_deleted=1" in capsys.readouterr().out


def test_the_dry_run_counts_the_bookings_it_would_cancel(capsys):
    make_booking(viewing_ended(make_agency(slug="old-agency"), 100), status=Booking.Status.HELD)

    call_command("apply_retention", "--dry-run")

    assert "old-agency: bookings_anonymised=1, bookings_cancelled=1" in capsys.readouterr().out
    assert Booking.objects.get().status == Booking.Status.HELD
