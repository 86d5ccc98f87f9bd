"""`make run`'s log shows each event once: no logger's event reaches two console handlers
(Django's own DEBUG console handler and the root's)."""

import logging

import pytest


def handlers_reached(name: str, level=logging.WARNING) -> list[logging.Handler]:
    """The handlers an event of `level` on logger `name` would be written by."""
    record = logging.LogRecord(name, level, __file__, 0, "probe", None, None)
    reached = []
    logger = logging.getLogger(name)
    while logger:
        reached += [
            handler
            for handler in logger.handlers
            # pytest's capturing handlers are the test run's, not the project's.
            if not type(handler).__module__.startswith("_pytest")
            and level >= handler.level
            and handler.filter(record)
        ]
        if not logger.propagate:
            break
        logger = logger.parent
    return reached


@pytest.mark.parametrize(
    "name", ["django.request", "django.server", "django", "bookings.delivery.sending", "axes"]
)
def test_an_event_is_written_once(settings, name):
    settings.DEBUG = True  # Django's console handler writes only with DEBUG on

    assert len(handlers_reached(name)) == 1
