import pytest

from bookings.sandbox.servers import SandboxProviders

pytest_plugins = ["tests.intake_fixtures"]


@pytest.fixture
def sandbox():
    """Both fake broker systems, live on a loopback port for this test."""
    with SandboxProviders() as providers:
        yield providers


# How the operator lets Viewing Bridge call the loopback sandbox (plain http, any port).
SANDBOX_ALLOWED_HOSTS = ["http://127.0.0.1"]


@pytest.fixture(autouse=True)
def provider_hosts_allow_the_sandbox(settings):
    """Every test may call the sandbox broker systems, allowed explicitly as an operator would."""
    settings.BROKER_ALLOWED_HOSTS = SANDBOX_ALLOWED_HOSTS


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """On SQLite, test on a file rather than in memory, so that tests can run real
    worker processes (`manage.py delivery_worker`) against the test database."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
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
