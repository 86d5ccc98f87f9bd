"""Logs: one line per event with the booking, agency and attempt ids as fields (JSON with
LOG_FORMAT=json), never personal data or secrets, each event once; one format per mode in
every process (web, gunicorn, worker, scheduler), each time with its offset."""

import json
import logging
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from django.conf import settings

from bookings.models import Booking, DeliveryAttempt, Heartbeat
from config.logs import JsonFormatter, PlainFormatter
from tests.conftest import WORKER, count_status, wait_until
from tests.factories import free_port, make_booking
from tests.test_settings import PRODUCTION_ENV, manage

Status = Booking.Status

BUYER = {
    "first_name": "Zelda",
    "last_name": "Zetterlund",
    "email": "zelda.zetterlund@example.se",
    "phone": "+46709876543",
}
SECRET = "s3cret-Zq9-never-logged"


def worker_log(process) -> list[str]:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    return output.splitlines()


def test_a_delivery_with_a_failure_logs_json_events_with_ids_and_nothing_personal(
    make_agency, sandbox, start_process
):
    sandbox.set_credential("sandbox", SECRET)
    agency = make_agency(secret=SECRET)
    booking = make_booking(agency, **BUYER)
    # The provider's error answer echoes the buyer and the secret back.
    sandbox.set_fault(status=503, count=1, body={"echo": [*BUYER.values(), SECRET]})
    from bookings.delivery.tasks import deliver_booking

    deliver_booking.enqueue(booking.pk)
    worker = start_process(*WORKER, "-v", "1", capture=True, LOG_FORMAT="json", LOG_LEVEL="DEBUG")
    wait_until(lambda: count_status(Status.RETRYING) == 1)
    Booking.objects.filter(pk=booking.pk).update(next_attempt_at=None)
    deliver_booking.enqueue(booking.pk)
    wait_until(lambda: count_status(Status.DELIVERED) == 1)

    lines = worker_log(worker)

    events = [json.loads(line) for line in lines]  # every line is one JSON object
    for line in lines:
        for personal in [*BUYER.values(), "+46 70", "709876543", SECRET]:
            assert personal not in line
    attempts = [event for event in events if event["message"].startswith("Delivery attempt")]
    assert [(event["outcome"], event["status"]) for event in attempts] == [
        ("retry", "retrying"),
        ("delivered", "delivered"),
    ]
    assert [event["attempt_id"] for event in attempts] == list(
        DeliveryAttempt.objects.order_by("pk").values_list("pk", flat=True)
    )
    for event in attempts:
        assert event["booking_id"] == booking.pk
        assert event["agency_id"] == agency.pk
        assert event["broker_system"] == "mspecs"
        assert {"time", "level", "logger", "http_status", "duration_ms"} <= event.keys()
    # Each task event once (Django's "django" logger printed them a second time in DEBUG).
    task_events = [event["message"] for event in events if event["logger"] == "django.tasks"]
    assert len(task_events) == 4  # two tasks, each running and successful
    assert len(set(task_events)) == len(task_events)


def test_an_event_logged_once_is_printed_once_in_debug_and_in_production():
    command = "import logging; logging.getLogger('django.tasks').info('the one event')"
    for environment in ({"DJANGO_DEV_MODE": "1", "DEBUG": "true"}, PRODUCTION_ENV):
        result = manage("shell", "-c", command, env=environment)

        assert result.returncode == 0, result.stderr
        assert (result.stdout + result.stderr).count("the one event") == 1


def test_log_level_warning_leaves_out_djangos_info_lines_such_as_each_tasks_start_and_end():
    command = (
        "import logging; tasks = logging.getLogger('django.tasks'); "
        "tasks.info('a task started'); tasks.warning('a task warned')"
    )
    result = manage("shell", "-c", command, env=PRODUCTION_ENV | {"LOG_LEVEL": "warning"})

    assert result.returncode == 0, result.stderr
    assert "a task warned" in result.stderr
    assert "a task started" not in result.stdout + result.stderr


def test_log_level_debug_leaves_djangos_loggers_at_info_without_every_sql_statement():
    command = "import logging; print(logging.getLogger('django.db.backends').getEffectiveLevel())"
    result = manage(
        "shell", "--no-imports", "-c", command, env=PRODUCTION_ENV | {"LOG_LEVEL": "DEBUG"}
    )

    assert result.stdout == f"{logging.INFO}\n", result.stderr


def test_accepting_a_booking_logs_its_ids_and_source_only(client, slot_viewing, caplog):
    from tests.factories import post_booking_page

    with caplog.at_level(logging.INFO, logger="bookings"):
        assert post_booking_page(client, slot_viewing, **BUYER).status_code == 302

    [record] = [r for r in caplog.records if r.getMessage() == "Booking accepted"]
    booking = Booking.objects.get()
    line = JsonFormatter().format(record)
    assert json.loads(line) | {"time": None} == {
        "time": None,
        "level": "INFO",
        "logger": "bookings.intake.service",
        "message": "Booking accepted",
        "booking_id": booking.pk,
        "agency_id": slot_viewing.agency_id,
        "viewing_id": slot_viewing.pk,
        "source": "public",
    }
    for personal in BUYER.values():
        assert personal not in line


def test_plain_lines_carry_the_fields_as_key_value_before_any_traceback():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.makeLogRecord(
            {
                "msg": "Delivery attempt: %s",
                "args": ("retry",),
                "levelname": "WARNING",
                "name": "bookings.delivery.sending",
                "booking_id": 7,
                "attempt_id": 9,
                "exc_info": sys.exc_info(),
            }
        )

    first, *traceback = PlainFormatter().format(record).splitlines()

    assert first.endswith(
        "WARNING bookings.delivery.sending Delivery attempt: retry booking_id=7 attempt_id=9"
    )
    assert traceback[-1] == "ValueError: boom"


def test_json_lines_stay_one_line_with_a_traceback():
    try:
        raise ValueError("line one\nline two")
    except ValueError:
        record = logging.makeLogRecord({"msg": "failed", "exc_info": sys.exc_info()})

    line = JsonFormatter().format(record)

    assert "\n" not in line
    assert json.loads(line)["exception"].endswith("ValueError: line one\nline two")


@pytest.mark.parametrize("value", ["xml", "JSON ", ""])
def test_an_unknown_log_format_stops_the_app_at_start(value):
    result = manage("check", env=PRODUCTION_ENV | {"LOG_FORMAT": value})

    assert result.returncode != 0
    assert "LOG_FORMAT must be plain or json" in result.stderr


def test_production_processes_log_json_when_asked():
    command = "import logging; logging.getLogger('x').warning('hello', extra={'booking_id': 3})"
    result = manage("shell", "-c", command, env=PRODUCTION_ENV | {"LOG_FORMAT": "json"})

    [line] = result.stderr.splitlines()
    assert json.loads(line) | {"time": None} == {
        "time": None,
        "level": "WARNING",
        "logger": "x",
        "message": "hello",
        "booking_id": 3,
    }


def test_a_failed_slot_poll_logs_its_ids_and_problem_code_without_the_answer(
    db, make_agency, sandbox, caplog
):
    from bookings import polling
    from tests.factories import make_slot_viewing

    agency = make_agency(secret=SECRET)
    viewing = make_slot_viewing(agency, "deal-1", ["a1"])
    sandbox.set_fault(status=500, body={"echo": SECRET})

    with caplog.at_level(logging.WARNING, logger="bookings.polling"):
        polling.poll_slots()

    [record] = caplog.records
    event = json.loads(JsonFormatter().format(record))
    assert event["agency_id"] == agency.pk
    assert event["viewing_ids"] == [viewing.pk]
    assert event["deal_id"] == "deal-1"
    viewing.refresh_from_db()
    assert event["problem"] == viewing.slot_poll_problem.code
    assert SECRET not in JsonFormatter().format(record) + PlainFormatter().format(record)


@pytest.mark.parametrize("formatter", [PlainFormatter, JsonFormatter])
def test_a_development_server_line_shows_no_socket_and_no_second_clock(formatter):
    """runserver (django.server) passes its socket as `request` and a time of its own."""
    with socket.socket() as connection:
        record = logging.makeLogRecord(
            {
                "name": "django.server",
                "msg": '"%s" %d %d',
                "args": ("GET /admin/ HTTP/1.1", 200, 4320),
                "request": connection,
                "server_time": "06/Dec/2026 13:02:52",
                "status_code": 200,
            }
        )

        line = formatter().format(record)

    assert "socket" not in line
    assert "fd=" not in line
    assert "server_time" not in line
    assert "status_code" in line


def test_a_request_shows_as_its_method_and_path_in_plain_lines(rf):
    record = logging.makeLogRecord(
        {"name": "django.request", "msg": "Not Found: %s", "args": ("/nope/",)}
    )
    record.request = rf.get("/nope/", {"token": "secret-token"})
    record.status_code = 404

    line = PlainFormatter().format(record)

    assert line.endswith('Not Found: /nope/ request="GET /nope/" status_code=404')


def test_a_request_shows_as_its_method_and_path_in_json_lines(rf):
    record = logging.makeLogRecord({"name": "django.request", "msg": "Not Found"})
    record.request = rf.post("/api/v1/viewings/x/bookings?token=secret-token")

    assert json.loads(JsonFormatter().format(record))["request"] == (
        "POST /api/v1/viewings/x/bookings"
    )


def test_a_field_value_cannot_start_a_second_plain_line():
    record = logging.makeLogRecord(
        {"msg": "Imported", "deal_id": 'D-1\n2026-12-06 INFO forged "line" a=b', "count": 3}
    )

    [line] = PlainFormatter().format(record).splitlines()

    assert line.endswith(r'Imported deal_id="D-1\n2026-12-06 INFO forged \"line\" a=b" count=3')


@pytest.mark.parametrize("formatter", [PlainFormatter, JsonFormatter])
def test_every_line_has_its_time_in_iso_8601_with_the_offset_of_time_zone(settings, formatter):
    settings.TIME_ZONE = "Europe/Stockholm"
    record = logging.makeLogRecord({"msg": "hello"})
    record.created = datetime(2026, 7, 1, 10, 0, 0, 250_000, tzinfo=UTC).timestamp()

    line = formatter().format(record)

    written = json.loads(line)["time"] if formatter is JsonFormatter else line.split(" ")[0]
    assert written == "2026-07-01T12:00:00.250+02:00"  # summer time in Stockholm


def test_the_scheduler_writes_json_lines_in_json_mode(start_process):
    scheduler = start_process(
        "crontask",
        "--no-heartbeat",
        capture=True,
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
        HEARTBEAT_SECONDS="0.2",
    )
    wait_until(lambda: Heartbeat.objects.filter(process=Heartbeat.Process.SCHEDULER).exists())

    scheduler.send_signal(signal.SIGTERM)
    output, _ = scheduler.communicate(timeout=30)

    events = [json.loads(line) for line in output.splitlines()]  # every line is JSON
    messages = [event["message"] for event in events if event["logger"] == "crontask"]
    assert "Loaded tasks from bookings." in messages
    assert "Starting scheduler…" in messages
    assert all(datetime.fromisoformat(event["time"]).utcoffset() is not None for event in events)


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_gunicorn_writes_its_own_lines_in_the_apps_format(log_format):
    port = free_port()
    gunicorn = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"),
            *("--bind", f"127.0.0.1:{port}", "--workers", "1", "--no-control-socket"),
        ],
        cwd=settings.BASE_DIR,
        env=os.environ | {"LOG_FORMAT": log_format, "LOG_LEVEL": "INFO"},
        stderr=subprocess.PIPE,
        text=True,
    )

    def listening():
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    wait_until(listening)
    gunicorn.send_signal(signal.SIGTERM)
    _, output = gunicorn.communicate(timeout=30)

    lines = output.splitlines()
    assert any(f"Listening at: http://127.0.0.1:{port}" in line for line in lines)
    for line in lines:
        if log_format == "json":
            time, logger = json.loads(line)["time"], json.loads(line)["logger"]
        else:
            time, _level, logger, _ = line.split(" ", 3)
        assert datetime.fromisoformat(time).utcoffset() is not None, line
        assert logger == "gunicorn.error"
