import pytest

from bookings.sandbox import SandboxBrokers


@pytest.fixture
def sandbox():
    """Both fake broker systems, live on a loopback port for this test."""
    with SandboxBrokers() as brokers:
        yield brokers


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Real hashing is deliberately slow; tests sign users in hundreds of times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
