"""Before every call (delivery, polling, test connection) the address is checked: a URL
that breaks the base-URL rules, or a host resolving inside a network that the operator
did not allow, is refused with nothing sent."""

import socket

import pytest

from agencies.models import CredentialStatus, Provider, ProviderCredential
from bookings import polling
from bookings.delivery.credentials import check_credential
from bookings.delivery.sending import deliver
from bookings.models import Booking
from bookings.providers.base import ProviderAddressRefused, check_provider_address
from tests.factories import by_staff, in_english, make_booking, make_slot_viewing

Status = Booking.Status
BOTH = pytest.mark.parametrize("system", [Provider.MSPECS, Provider.VITEC])


def stored_without_validation(credential, base_url):
    """A base URL saved before the rules existed (or by code that skipped validation)."""
    ProviderCredential.objects.filter(pk=credential.pk).update(base_url=base_url)
    credential.refresh_from_db()
    return credential


@pytest.fixture
def resolve_to(monkeypatch):
    """Make DNS answer the given addresses for every name (nothing leaves loopback)."""

    def resolve(*addresses):
        def getaddrinfo(host, port, *args, **kwargs):
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (a, port),
                )
                for a in addresses
            ]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    return resolve


@BOTH
@pytest.mark.django_db
def test_a_delivery_to_a_host_the_operator_did_not_allow_is_not_sent(
    system, make_agency, sandbox, settings
):
    agency = make_agency(system)
    booking = make_booking(agency)
    settings.BROKER_ALLOWED_HOSTS = []  # the sandbox on loopback is no longer allowed

    deliver(booking.pk)

    assert sandbox.requests_served == 0
    booking.refresh_from_db()
    assert booking.status == Status.HELD
    assert "Not sent to http://127.0.0.1:" in in_english(booking.last_problem)
    assert "Correct the credential's base URL" in in_english(booking.last_problem)
    credential = ProviderCredential.objects.get(agency=agency)
    assert credential.status == CredentialStatus.FAILING
    assert "Not sent to" in in_english(credential.status_problem)


@pytest.mark.django_db
def test_a_stored_base_url_with_a_fragment_is_not_sent(make_agency, sandbox):
    agency = make_agency()
    stored_without_validation(agency.credential, sandbox.url + "/anything#")
    booking = make_booking(agency)

    deliver(booking.pk)

    assert sandbox.requests_served == 0
    booking.refresh_from_db()
    assert booking.status == Status.HELD
    [attempt] = booking.attempts.all()
    assert attempt.outcome == "auth_failed"
    assert attempt.http_status is None


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "224.0.0.1",
        "240.0.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1%eth0",
        "fd00::1",
        "::ffff:127.0.0.1",
        "::",
    ],
)
def test_a_provider_host_resolving_inside_a_network_is_refused(resolve_to, settings, address):
    settings.BROKER_ALLOWED_HOSTS = []
    resolve_to(address)

    with pytest.raises(ProviderAddressRefused, match="resolves to"):
        check_provider_address("https://integration.mspecs.se/v3/x", Provider.MSPECS)


def test_a_provider_host_with_one_internal_address_among_public_ones_is_refused(resolve_to):
    resolve_to("192.0.2.10", "8.8.8.8", "10.1.2.3")

    with pytest.raises(ProviderAddressRefused):
        check_provider_address("https://connect.maklare.vitec.net/Viewing", Provider.VITEC)


def test_a_provider_host_resolving_to_public_addresses_passes_the_check(resolve_to):
    resolve_to("8.8.8.8", "2001:4860:4860::8888")

    check_provider_address("https://integration.mspecs.se/v3/x", Provider.MSPECS)


def test_a_host_the_operator_allowed_may_resolve_to_loopback(resolve_to, settings):
    settings.BROKER_ALLOWED_HOSTS = ["broker-proxy.internal"]
    resolve_to("127.0.0.1")

    check_provider_address("https://broker-proxy.internal/mspecs/v3/x", Provider.MSPECS)


@pytest.mark.django_db
def test_a_delivery_to_a_real_host_resolving_to_the_metadata_address_is_not_sent(
    make_agency, resolve_to
):
    agency = make_agency()
    stored_without_validation(agency.credential, "https://integration.mspecs.se")
    booking = make_booking(agency)
    resolve_to("169.254.169.254")

    deliver(booking.pk)

    booking.refresh_from_db()
    assert booking.status == Status.HELD
    assert "resolves to 169.254.169.254" in in_english(booking.last_problem)


@BOTH
@pytest.mark.django_db
def test_test_connection_to_a_refused_address_says_why_and_sends_nothing(
    system, make_agency, sandbox, settings
):
    credential = make_agency(system).credential
    settings.BROKER_ALLOWED_HOSTS = []

    check = check_credential(credential, by_staff())

    assert check.ok is False
    assert check.message.startswith("Refused: Not sent to http://127.0.0.1:")
    assert sandbox.requests_served == 0


@pytest.mark.django_db
def test_slot_polling_of_a_refused_address_records_why_and_sends_nothing(
    make_agency, sandbox, settings
):
    agency = make_agency()
    sandbox.set_deal("deal-1", {"a1": 5})
    viewing = make_slot_viewing(agency, "deal-1", ["a1"])
    settings.BROKER_ALLOWED_HOSTS = []

    polling.poll_slots()

    viewing.refresh_from_db()
    assert "Not sent to http://127.0.0.1:" in in_english(viewing.slot_poll_problem)
    assert sandbox.requests_served == 0


@BOTH
@pytest.mark.django_db
def test_each_attempt_records_the_full_url_called(system, make_agency, sandbox):
    booking = make_booking(make_agency(system), viewing_id="v-1", slot_id="t-1")

    deliver(booking.pk)

    [attempt] = booking.attempts.all()
    expected = {
        Provider.MSPECS: sandbox.mspecs_url + "/v3/viewings/externalViewer/v-1",
        Provider.VITEC: sandbox.vitec_url + "/Viewing/sandbox-customer/v-1/t-1/Participant",
    }[system]
    assert attempt.url == expected


@pytest.mark.django_db
def test_a_password_stored_in_the_base_url_is_neither_sent_nor_recorded(make_agency, sandbox):
    agency = make_agency()
    stored_without_validation(
        agency.credential, sandbox.mspecs_url.replace("http://", "http://someone:hunter2@")
    )
    booking = make_booking(agency)

    deliver(booking.pk)

    assert sandbox.requests_served == 0
    booking.refresh_from_db()
    [attempt] = booking.attempts.all()
    assert attempt.url.startswith(sandbox.mspecs_url)
    credential = ProviderCredential.objects.get(agency=agency)
    for shown in (
        attempt.url,
        attempt.response_excerpt,
        in_english(booking.last_problem),
        in_english(credential.status_problem),
    ):
        assert "hunter2" not in shown
