"""The test suite's fixtures, in one place; the data they make comes from
tests/factories.py. Tests steer the sandbox providers through their control API
(bookings/sandbox/state.py), never their internals."""

import functools
import io
import logging
import os
import subprocess
import sys
import time
import types

import pytest

from agencies.models import ApiKey, Provider
from bookings.models import Booking
from bookings.sandbox import SandboxProviders
from config.logs import JsonFormatter, PlainFormatter
from config.settings import BASE_DIR
from tests import factories


@pytest.fixture
def sandbox():
    """Both fake providers, live on a loopback port for this test."""
    with SandboxProviders() as providers:
        yield providers


@pytest.fixture
def make_agency(sandbox):
    """`factories.make_agency` with the credential pointing at this test's sandbox."""
    return functools.partial(factories.make_agency, sandbox=sandbox)


@pytest.fixture
def mspecs_agency(db):
    return factories.make_agency(Provider.MSPECS)


@pytest.fixture
def slot_viewing(mspecs_agency):
    return factories.make_three_slot_viewing(mspecs_agency)


@pytest.fixture
def ordinary_viewing(mspecs_agency):
    return factories.make_viewing(mspecs_agency, provider_viewing_id="view-2", title="Lillgatan 2")


@pytest.fixture
def api_key(mspecs_agency):
    return ApiKey.issue(mspecs_agency, "Website")[1]


# How the operator lets Viewing Bridge call the loopback sandbox (plain http, any port).
SANDBOX_ALLOWED_HOSTS = ["http://127.0.0.1"]


@pytest.fixture(autouse=True)
def provider_hosts_allow_the_sandbox(settings):
    """Every test may call the sandbox providers, allowed explicitly as an operator would."""
    settings.BROKER_ALLOWED_HOSTS = SANDBOX_ALLOWED_HOSTS


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """On SQLite, test on a file rather than in memory, so that tests can run real
    worker processes (`manage.py delivery_worker`) against the test database."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "config.sqlite_one_writer":  # SQLite (config/settings.py)
        test_file = tmp_path_factory.mktemp("db") / "test.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(test_file)


def pytest_runtest_setup(item):
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if item.get_closest_marker("postgres") and "postgresql" not in engine:
        pytest.skip("needs PostgreSQL (set DATABASE_URL=postgres://…)")


@pytest.fixture(autouse=True)
def empty_cache():
    """Rate-limit counters live in the cache; every test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def console_log():
    """What the project's log handler (the root's, config/settings.py LOGGING) writes during
    the test, through its filter and formatter: `.text()`, and `.handler` to set another
    formatter."""
    handler = next(
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler.formatter, PlainFormatter | JsonFormatter)
    )
    formatter, stream = handler.formatter, io.StringIO()
    previous = handler.setStream(stream)
    yield types.SimpleNamespace(handler=handler, text=stream.getvalue)
    handler.setStream(previous)
    handler.setFormatter(formatter)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Real hashing is deliberately slow; tests sign users in hundreds of times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def english_outside_requests():
    """Code is asserted in its source language, English; requests still choose theirs
    (Swedish by default) through LocaleMiddleware."""
    from django.utils import translation

    with translation.override("en"):
        yield


# --- real worker processes on the test database --------------------------------------------

# The threaded worker, as `make run` starts it: up to WORKER_THREADS calls in flight.
WORKER_THREADS = 2
WORKER = [
    *("delivery_worker", "--threads", str(WORKER_THREADS)),
    *("--interval", "0.05", "--no-startup-delay", "-v", "0"),
]


def database_url() -> str:
    """The test database as a DATABASE_URL, for worker processes to share it."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def start_process(transactional_db, settings):
    """Start `manage.py <command>` as a real process on the test database; every process
    started is killed at the end of the test. `capture=True` keeps its output (stdout and
    stderr together, as text) for the test to read."""
    processes = []

    def start(*command, capture=False, **env):
        environment = os.environ | {
            "DATABASE_URL": database_url(),
            "LOG_LEVEL": "WARNING",
            "BROKER_ALLOWED_HOSTS": ",".join(settings.BROKER_ALLOWED_HOSTS),
        }
        process = subprocess.Popen(
            [sys.executable, "manage.py", *command],
            cwd=BASE_DIR,
            env=environment | {name: str(value) for name, value in env.items()},
            stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if capture else None,
            text=capture,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.kill()
        process.wait()


def count_status(*statuses):
    return Booking.objects.filter(status__in=statuses).count()


def stored_anywhere(text: str) -> bool:
    """Whether any value of any row of any table holds `text`."""
    from django.apps import apps

    return any(
        text in str(value)
        for model in apps.get_models()
        for row in model._base_manager.values_list()
        for value in row
    )


def wait_until(condition, timeout=30.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"not true within {timeout} s: {condition.__doc__ or condition}")


@pytest.fixture
def woken(settings):
    """Delivery wake-ups go to Django's dummy task backend, which keeps them, instead of
    the configured one: the call sites must not care. Returns a function listing the
    booking ids woken so far."""
    from django.tasks import task_backends

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    return lambda: sorted(
        result.args[0]
        for result in task_backends["default"].results
        if result.task.name == "deliver_booking"
    )


# --- agencies for the admin pages' role tests ---------------------------------------------


@pytest.fixture
def own(db):
    """The agency every role under test works on."""
    return factories.make_agency(name="Own Agency")


@pytest.fixture
def second(db):
    """The agency the mixed-role user administers."""
    return factories.make_agency(name="Second Agency")


@pytest.fixture
def other(db):
    """An agency nobody under test works on (but a superuser)."""
    return factories.make_agency(name="Other Agency")
