import pytest

from bookings.sandbox import SandboxBrokers

pytest_plugins = ["tests.intake_fixtures"]


@pytest.fixture
def sandbox():
    """Both fake broker systems, live on a loopback port for this test."""
    with SandboxBrokers() as brokers:
        yield brokers


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
