"""Logs: one line per event with the booking, agency and attempt ids as fields (JSON with
LOG_FORMAT=json), never personal data or secrets, each event once."""

import json
import logging
import signal
import sys

import pytest

from bookings.models import Booking, DeliveryAttempt
from config.logs import JsonFormatter, PlainFormatter
from tests.conftest import WORKER, count_status, wait_until
from tests.factories import make_booking
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
