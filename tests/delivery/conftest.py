import os
import subprocess
import sys
import time
from datetime import timedelta
from itertools import count

import pytest
from django.utils import timezone

from agencies.models import Agency, BrokerSystem, ProviderCredential
from bookings.models import Booking, Viewing, ViewingSlot
from config.settings import BASE_DIR

SANDBOX_SECRET = "sandbox-secret"
_numbers = count(1)


@pytest.fixture
def make_agency(sandbox):
    """An agency on MSPECS or Vitec whose credential points at the sandbox."""

    def make(system=BrokerSystem.MSPECS, *, secret=SANDBOX_SECRET, **credential_fields):
        n = next(_numbers)
        agency = Agency.objects.create(name=f"Agency {n}", slug=f"agency-{n}", broker_system=system)
        is_vitec = system == BrokerSystem.VITEC
        fields = {
            "base_url": sandbox.vitec_url if is_vitec else sandbox.mspecs_url,
            "username": "sandbox",
            "secret": secret,
            "vitec_customer_id": "sandbox-customer" if is_vitec else "",
        }
        ProviderCredential.objects.create(agency=agency, **(fields | credential_fields))
        return agency

    return make


@pytest.fixture
def make_booking():
    """A queued booking on a viewing (and a slot where the viewing needs one), saved
    as intake saves it; fields may be given bad values to provoke the broker system."""

    def make(agency, *, viewing_id="viewing-1", slot_id="slot-1", time_slots=False, **fields):
        starts = timezone.now() + timedelta(days=3)
        viewing, _ = Viewing.objects.get_or_create(
            agency=agency,
            provider_viewing_id=viewing_id,
            defaults={
                "title": "Storgatan 1",
                "starts_at": starts,
                "ends_at": starts + timedelta(hours=1),
                "mspecs_deal_id": "deal-1" if time_slots else "",
                "viewing_type": Viewing.Type.TIME_SLOTS if time_slots else Viewing.Type.ORDINARY,
            },
        )
        slot = None
        if viewing.needs_slot:
            slot, _ = ViewingSlot.objects.get_or_create(
                viewing=viewing,
                provider_slot_id=slot_id,
                defaults={"starts_at": starts, "ends_at": starts + timedelta(minutes=20)},
            )
        n = next(_numbers)
        values = {
            "first_name": "Anna",
            "last_name": "Svensson",
            "email": f"anna.{n}@example.se",
            "phone": "+46701111111",
            "status": Booking.Status.QUEUED,
        }
        return Booking.objects.create(viewing=viewing, slot=slot, **(values | fields))

    return make


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
        environment = os.environ | {"DATABASE_URL": database_url(), "LOG_LEVEL": "WARNING"}
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


WORKER = ["db_worker", "--interval", "0.05", "--no-startup-delay", "--no-reload", "-v", "0"]


def wait_until(condition, timeout=30.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"not true within {timeout} s: {condition.__doc__ or condition}")
