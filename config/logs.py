"""Log formatters: one line per event, with the event's ids as fields.

Code logs an event with its ids in `extra` (`logger.info("delivery attempt",
extra={"booking_id": 1, "agency_id": 2, "attempt_id": 3})`), never a name, email, phone or
secret. PlainFormatter appends them as key=value; JsonFormatter (LOG_FORMAT=json) writes one
JSON object a line for a log collector. A dozen lines on the standard library's Formatter,
rather than a dependency: the fields are exactly what `extra` carried.
"""

import json
import logging
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else on a record came in through `extra`.
STANDARD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def event_fields(record: logging.LogRecord) -> dict:
    return {
        name: value for name, value in record.__dict__.items() if name not in STANDARD_ATTRIBUTES
    }


class PlainFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = " ".join(f"{name}={value}" for name, value in event_fields(record).items())
        if not fields:
            return line
        # The fields stay on the event's first line, before any traceback.
        first, newline, rest = line.partition("\n")
        return f"{first} {fields}{newline}{rest}"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **event_fields(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # default=str: a field that is a UUID or a datetime still makes one valid line.
        return json.dumps(entry, ensure_ascii=False, default=str)
