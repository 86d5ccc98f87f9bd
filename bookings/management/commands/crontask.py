"""`manage.py crontask`: django-crontask's scheduler, unchanged, except that its own messages
(tasks loaded, started, another scheduler holds the lock) are log events in LOG_FORMAT, as
every other process's lines are, instead of plain text printed beside them."""

import logging

from crontask.management.commands import crontask

logger = logging.getLogger("crontask")


class LogLines:
    """The stream under the command's stdout or stderr: each line written is one event."""

    def __init__(self, level: int):
        self.level = level

    def write(self, text: str) -> None:
        for line in text.splitlines():
            if line.strip():
                logger.log(self.level, line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


class Command(crontask.Command):
    def execute(self, *args, **options):
        # no_color: crontask colours some messages itself, which would put escape codes
        # into the log.
        logged = {"stdout": LogLines(logging.INFO), "stderr": LogLines(logging.ERROR)}
        return super().execute(*args, **options | logged | {"no_color": True})
