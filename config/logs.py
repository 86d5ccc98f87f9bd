"""Log formatters: one line per event, with the event's ids as fields; and the filter that
masks personal data in what others log (MaskPersonalData, on the handler).

Code logs an event with its ids in `extra` (`logger.info("delivery attempt",
extra={"booking_id": 1, "agency_id": 2, "attempt_id": 3})`), never a name, email, phone or
secret. PlainFormatter appends them as key=value; JsonFormatter (LOG_FORMAT=json) writes one
JSON object a line for a log collector. A dozen lines on the standard library's Formatter,
rather than a dependency: the fields are exactly what `extra` carried. Every process (web,
gunicorn's own lines through config/gunicorn.py, worker, scheduler) writes through these, so
one mode has one format, each line's time in ISO 8601 with its offset.
"""

import json
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest

from bookings.client_address import client_address
from bookings.delivery.redaction import MASK, redact_log, redact_sql

# Attributes every LogRecord has; anything else on a record came in through `extra`.
STANDARD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# runserver's own clock reading for its request line: a second time, without an offset.
DROPPED_FIELDS = frozenset({"server_time"})


def event_fields(record: logging.LogRecord) -> dict:
    fields = {}
    for name, value in record.__dict__.items():
        if name in STANDARD_ATTRIBUTES or name in DROPPED_FIELDS:
            continue
        if name == "request":
            # Django passes the HttpRequest (django.request), runserver its socket
            # (django.server, whose message is already the request line): the one is named
            # by method and path, the other says nothing a line needs. A string is the
            # request as MaskPersonalData already wrote it.
            if isinstance(value, HttpRequest):
                value = f"{value.method} {value.path}"
            elif not isinstance(value, str):
                continue
        fields[name] = value
    return fields


def timestamp(record: logging.LogRecord) -> str:
    """The event's time in TIME_ZONE, ISO 8601 with its offset, to the millisecond."""
    moment = datetime.fromtimestamp(record.created, ZoneInfo(settings.TIME_ZONE))
    return moment.isoformat(timespec="milliseconds")


def plain_value(value) -> str:
    """A value as key=value shows it: quoted when a space, quote or line break in it would
    blur where it ends (a forged second line included)."""
    text = str(value)
    if not text or any(character.isspace() or character in '"=' for character in text):
        return json.dumps(text, ensure_ascii=False)
    return text


class MaskPersonalData(logging.Filter):
    """On the log handler: what reaches the log from outside our own `extra` (Django's
    request warnings and 500s, their exceptions, SQL in the debug log) gets the buyers'
    emails and phone numbers, query strings' values and SQL's values masked, as the
    attempt excerpts are (bookings/delivery/redaction.py). A masked copy is written; the
    record itself stays whole for any other handler."""

    def filter(self, record: logging.LogRecord) -> logging.LogRecord:
        masked = logging.makeLogRecord(record.__dict__)
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):  # arguments that do not fit the message
            message = str(record.msg)  # still written, not raised into the caller
        masked.msg, masked.args = redact_log(message), None
        if record.exc_info or record.exc_text:
            exception = record.exc_text or logging.Formatter().formatException(record.exc_info)
            masked.exc_text, masked.exc_info = redact_log(exception), None
        if record.stack_info:
            masked.stack_info = redact_log(record.stack_info)
        fields = event_fields(record)
        if "sql" in fields:
            # Django's SQL debug lines: the statement with its values masked, without them.
            masked.msg = masked.sql = redact_sql(str(fields["sql"]))
            if "params" in fields:
                masked.params = MASK
        if isinstance(request := record.__dict__.get("request"), HttpRequest):
            # The request's own repr would carry its query string as sent.
            masked.request = redact_log(f"{request.method} {request.get_full_path()}")
            masked.client_address = client_address(request)
        for name, value in fields.items():
            if isinstance(value, str) and name not in ("sql", "request"):
                setattr(masked, name, redact_log(value))
        return masked


class PlainFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatTime(self, record, datefmt=None):
        return timestamp(record)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = " ".join(
            f"{name}={plain_value(value)}" for name, value in event_fields(record).items()
        )
        if not fields:
            return line
        # The fields stay on the event's first line, before any traceback.
        first, newline, rest = line.partition("\n")
        return f"{first} {fields}{newline}{rest}"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **event_fields(record),
        }
        if record.exc_info or record.exc_text:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        # default=str: a field that is a UUID or a datetime still makes one valid line.
        return json.dumps(entry, ensure_ascii=False, default=str)
