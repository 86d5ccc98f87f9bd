import os
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.tasks import task_backends

from agencies.models import BrokerSystem
from bookings.delivery.schedule import wake_delivery
from bookings.models import Booking, Viewing
from config.settings import BASE_DIR
from tests import factories


@pytest.fixture
def make_agency(sandbox):
    """An agency on MSPECS or Vitec whose credential points at the sandbox."""

    def make(system=BrokerSystem.MSPECS, **credential_fields):
        agency = factories.make_agency(system, sandbox=sandbox)
        if credential_fields:
            credential = agency.credential
            for name, value in credential_fields.items():
                setattr(credential, name, value)
            credential.save()
        return agency

    return make


@pytest.fixture
def make_booking():
    """A queued booking on the agency's viewing `viewing_id` (and its slot `slot_id` where
    the viewing needs one), saved as intake saves it; fields may be given bad values
    to provoke the broker system."""

    def make(agency, *, viewing_id="viewing-1", slot_id="slot-1", time_slots=False, **fields):
        viewing = Viewing.objects.filter(agency=agency, provider_viewing_id=viewing_id).first()
        if viewing is None:
            viewing_type = Viewing.Type.TIME_SLOTS if time_slots else Viewing.Type.ORDINARY
            viewing = factories.make_viewing(
                agency, provider_viewing_id=viewing_id, viewing_type=viewing_type
            )
        slot = None
        if viewing.needs_slot:
            slot = viewing.slots.filter(provider_slot_id=slot_id).first()
            slot = slot or factories.make_slot(viewing, provider_slot_id=slot_id)
        return factories.make_booking(viewing, slot=slot, **fields)

    return make


@pytest.fixture
def woken(settings):
    """Delivery wake-ups go to Django's dummy task backend, which keeps them, instead of
    the configured one: the call sites must not care. Returns a function listing the
    booking ids woken so far."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    return lambda: sorted(
        result.args[0]
        for result in task_backends["default"].results
        if result.task.name == "deliver_booking"
    )


def database_url() -> str:
    """The test database as a DATABASE_URL, for worker processes to share it."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def start_process(transactional_db):
    """Start `manage.py <command>` as a real process on the test database; every process
    started is killed at the end of the test."""
    processes = []

    def start(*command, **env):
        environment = os.environ | {
            "DATABASE_URL": database_url(),
            "LOG_LEVEL": "WARNING",
            "BROKER_ALLOWED_HOSTS": ",".join(settings.BROKER_ALLOWED_HOSTS),
        }
        process = subprocess.Popen(
            [sys.executable, "manage.py", *command],
            cwd=BASE_DIR,
            env=environment | {name: str(value) for name, value in env.items()},
            stdout=subprocess.DEVNULL,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.kill()
        process.wait()


# The threaded worker, as `make run` starts it: up to WORKER_THREADS calls in flight.
WORKER_THREADS = 2
WORKER = [
    *("delivery_worker", "--threads", str(WORKER_THREADS)),
    *("--interval", "0.05", "--no-startup-delay", "-v", "0"),
]


def queue(agency, make_booking, n):
    """`n` bookings for the agency, each with its delivery woken."""
    bookings = [make_booking(agency) for _ in range(n)]
    for booking in bookings:
        wake_delivery(booking.pk)
    return bookings


def count_status(*statuses):
    return Booking.objects.filter(status__in=statuses).count()


def wait_until(condition, timeout=30.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"not true within {timeout} s: {condition.__doc__ or condition}")
