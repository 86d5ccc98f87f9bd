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
