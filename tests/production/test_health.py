"""GET /healthz and `manage.py check_health`: what each check answers, for anyone, with no
personal data."""

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from bookings.models import Booking, Heartbeat
from tests.factories import make_agency, make_booking, make_staff_user

pytestmark = pytest.mark.django_db

Status = Booking.Status


def seen(process, seconds_ago=0):
    Heartbeat.objects.update_or_create(
        process=process,
        defaults={"seen_at": timezone.now() - timedelta(seconds=seconds_ago), "seen_by": "h:1"},
    )


@pytest.fixture
def alive():
    """Both background processes seen a moment ago."""
    seen(Heartbeat.Process.WORKER)
    seen(Heartbeat.Process.SCHEDULER)


def get_health(client):
    response = client.get("/healthz")
    return response.status_code, response.json()


def test_healthy_is_200_with_every_check_ok(client, alive):
    status, body = get_health(client)

    assert status == 200
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert set(body["checks"]) == {"database", "migrations", "worker", "scheduler", "deliveries"}
    assert all(check["ok"] for check in body["checks"].values())


def test_a_process_never_seen_is_failing(client):
    status, body = get_health(client)

    assert status == 503
    assert body["failing"] == ["worker", "scheduler"]
    assert body["checks"]["worker"]["last_seen_seconds_ago"] is None


@pytest.mark.parametrize("process", list(Heartbeat.Process))
def test_a_process_not_seen_within_the_interval_is_named(client, alive, process):
    seen(process, seconds_ago=settings.HEALTH_STALE_AFTER + 5)

    status, body = get_health(client)

    assert status == 503
    assert body["failing"] == [process.value]
    assert body["checks"][process.value]["last_seen_seconds_ago"] >= settings.HEALTH_STALE_AFTER


def test_an_unapplied_migration_is_failing(client, alive):
    MigrationRecorder.Migration.objects.filter(app="bookings").order_by("-id").first().delete()

    status, body = get_health(client)

    assert status == 503
    assert body["failing"] == ["migrations"]
    assert body["checks"]["migrations"]["unapplied"] == 1


def test_a_booking_due_for_too_long_is_failing_with_its_age(client, alive):
    booking = make_booking(make_agency())
    long_ago = timezone.now() - timedelta(seconds=settings.HEALTH_MAX_DUE_AGE + 60)
    Booking.objects.filter(pk=booking.pk).update(created_at=long_ago)

    status, body = get_health(client)

    assert status == 503
    assert body["failing"] == ["deliveries"]
    assert body["checks"]["deliveries"]["oldest_due_booking_seconds"] >= (
        settings.HEALTH_MAX_DUE_AGE + 60
    )


def test_a_retry_counts_from_its_retry_time_not_from_when_it_was_taken_in(client, alive):
    booking = make_booking(make_agency())
    Booking.objects.filter(pk=booking.pk).update(
        status=Status.RETRYING,
        created_at=timezone.now() - timedelta(days=2),
        next_attempt_at=timezone.now() - timedelta(seconds=30),
    )

    status, body = get_health(client)

    assert status == 200
    assert 30 <= body["checks"]["deliveries"]["oldest_due_booking_seconds"] < 60


@pytest.mark.parametrize("status", [Status.DELIVERED, Status.HELD, Status.FAILED])
def test_bookings_not_due_do_not_count(client, alive, status):
    booking = make_booking(make_agency(), status=status)
    Booking.objects.filter(pk=booking.pk).update(created_at=timezone.now() - timedelta(days=9))

    assert get_health(client)[1]["checks"]["deliveries"]["oldest_due_booking_seconds"] == 0


def test_the_answer_holds_no_personal_data_and_is_the_same_for_every_user(client, alive):
    agency = make_agency()
    make_booking(agency, first_name="Zelda", last_name="Zetterlund", email="zelda@example.se")
    anonymous = client.get("/healthz")
    client.force_login(make_staff_user(agency))
    signed_in = client.get("/healthz")

    assert anonymous.status_code == signed_in.status_code == 200
    assert anonymous.json().keys() == signed_in.json().keys()
    for personal in (b"Zelda", b"Zetterlund", b"zelda@example.se", b"+4670"):
        assert personal not in anonymous.content


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_only_get(client, alive, method):
    assert getattr(client, method)("/healthz").status_code == 405


def test_probes_over_plain_http_are_not_redirected(client, alive, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    assert client.get("/admin/").status_code == 301


def test_check_health_prints_the_same_checks_and_exits_0_when_healthy(alive, capsys):
    call_command("check_health")

    printed = json.loads(capsys.readouterr().out)
    assert printed["status"] == "ok"
    assert set(printed["checks"]) == {"database", "migrations", "worker", "scheduler", "deliveries"}


def test_check_health_exits_1_naming_what_fails(capsys):
    with pytest.raises(SystemExit) as exit_:
        call_command("check_health")

    assert exit_.value.code == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["failing"] == ["worker", "scheduler"]
    assert "Failing: worker, scheduler" in captured.err


def check_health_process(database_url):
    return subprocess.run(
        [sys.executable, "manage.py", "check_health"],
        cwd=settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "DJANGO_DEV_MODE": "1", "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_health_names_an_unreachable_database_and_no_password():
    result = check_health_process("postgres://bridge:hunter2secret@127.0.0.1:1/nowhere")

    assert result.returncode == 1, result.stderr
    body = json.loads(result.stdout)
    assert body["failing"] == ["database"]
    assert body["checks"]["database"] == {"ok": False, "error": "OperationalError"}
    assert "hunter2secret" not in result.stdout + result.stderr


def test_check_health_on_a_database_never_migrated_names_it_without_a_traceback(tmp_path):
    result = check_health_process(f"sqlite:///{tmp_path / 'empty.sqlite3'}")

    assert result.returncode == 1, result.stderr
    body = json.loads(result.stdout)
    assert body["failing"] == ["migrations", "worker", "scheduler", "deliveries"]
    assert body["checks"]["worker"] == {"ok": False, "error": "OperationalError"}
    assert "Traceback" not in result.stderr
