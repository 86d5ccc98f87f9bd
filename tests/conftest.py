import pytest

from bookings.sandbox import SandboxBrokers


@pytest.fixture
def sandbox():
    """Both fake broker systems, live on a loopback port for this test."""
    with SandboxBrokers() as brokers:
        yield brokers
