"""A credential's base URL may only name a provider's real API host, or a host the
operator allowed in BROKER_ALLOWED_HOSTS: at every door that saves one."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from agencies.models import Membership, Provider, ProviderCredential
from config.settings import BASE_DIR
from tests.factories import free_port, make_agency, make_staff_user

pytestmark = pytest.mark.django_db

HOSTILE_URLS = [
    "http://127.0.0.1:8001/anything#",  # the fragment cuts the API path off
    "https://integration.mspecs.se/v3#",
    "http://169.254.169.254/latest/meta-data",
    "https://169.254.169.254/",
    "http://10.0.0.1/",
    "https://10.0.0.1/",
    "https://localhost/",
    "https://user:pw@integration.mspecs.se/",
    "https://integration.mspecs.se@evil.example/",
    "ftp://integration.mspecs.se/",
    "http://integration.mspecs.se/",  # plain http to the real host
    "https://integration.mspecs.se/?next=/admin",
    "https://integration.mspecs.se.evil.example/",
    "https://evil.example/",
    "https://connect.maklare.vitec.net/",  # Vitec's host for an MSPECS agency
    "https://[::1/",
    "https://integration.mspecs.se:99999/",
]


def credential_for(provider, base_url):
    agency = make_agency(provider, with_credential=False)
    return ProviderCredential(
        agency=agency,
        base_url=base_url,
        username="api",
        secret="s3cret",
        vitec_customer_id="customer-1" if provider == Provider.VITEC else "",
    )


@pytest.mark.parametrize("base_url", HOSTILE_URLS)
def test_a_hostile_base_url_is_refused(base_url):
    with pytest.raises(ValidationError) as refused:
        credential_for(Provider.MSPECS, base_url).full_clean()

    assert "base_url" in refused.value.message_dict


@pytest.mark.parametrize(
    ("provider", "base_url"),
    [
        (Provider.MSPECS, "https://integration.mspecs.se"),
        (Provider.MSPECS, "https://test-integration.mspecs.se/"),
        (Provider.VITEC, "https://connect.maklare.vitec.net"),
        (Provider.VITEC, "https://CONNECT.maklare.vitec.net/api"),
    ],
)
def test_the_providers_own_https_hosts_are_accepted(provider, base_url):
    credential_for(provider, base_url).full_clean()


def test_a_host_the_operator_allowed_is_accepted_over_https_only(settings):
    settings.BROKER_ALLOWED_HOSTS = ["broker-proxy.example.se"]

    credential_for(Provider.MSPECS, "https://broker-proxy.example.se/mspecs").full_clean()
    with pytest.raises(ValidationError):
        credential_for(Provider.MSPECS, "http://broker-proxy.example.se/mspecs").full_clean()


def test_plain_http_needs_the_operator_to_allow_it_for_that_host(settings):
    settings.BROKER_ALLOWED_HOSTS = ["http://127.0.0.1"]

    credential_for(Provider.MSPECS, "http://127.0.0.1:8001/mspecs").full_clean()
    with pytest.raises(ValidationError):
        credential_for(Provider.MSPECS, "http://localhost:8001/mspecs").full_clean()


def test_the_sandbox_is_refused_unless_the_operator_allowed_it(settings, sandbox):
    settings.BROKER_ALLOWED_HOSTS = []

    with pytest.raises(ValidationError) as refused:
        credential_for(Provider.MSPECS, sandbox.mspecs_url).full_clean()

    assert "BROKER_ALLOWED_HOSTS" in " ".join(refused.value.message_dict["base_url"])


# --- the admin form, for every role that may change a credential --------------------------


def admin_change_data(credential, base_url):
    return {
        "agency": credential.agency_id,
        "base_url": base_url,
        "username": credential.username,
        "secret": "a-new-secret",
        "vitec_customer_id": credential.vitec_customer_id,
        "mspecs_subscriber_id": credential.mspecs_subscriber_id,
        "vitec_reminder_minutes": 120,
    }


def agency_administrator(agency):
    return make_staff_user(agency, role=Membership.Role.ADMIN)


def staff_here_administrator_there(agency):
    user = make_staff_user(make_agency(), role=Membership.Role.STAFF)
    Membership.objects.create(user=user, agency=agency, role=Membership.Role.ADMIN)
    return user


def superuser(agency):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("root", "root@example.se", "pw")


@pytest.mark.parametrize(
    "make_user", [agency_administrator, staff_here_administrator_there, superuser]
)
@pytest.mark.parametrize(
    ("base_url", "error"),
    [
        ("http://169.254.169.254/latest#", "is not an address of this broker system"),
        ("https://user:pw@integration.mspecs.se/", "Leave the user name and password out"),
    ],
)
def test_the_admin_form_refuses_a_hostile_base_url_and_keeps_the_stored_one(
    client, make_user, base_url, error
):
    agency = make_agency(base_url="https://integration.mspecs.se")
    client.force_login(make_user(agency))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    url = reverse("admin:agencies_providercredential_change", args=[agency.credential.pk])

    response = client.post(url, admin_change_data(agency.credential, base_url))

    assert response.status_code == 200  # the form again, with the error
    assert error in response.text
    agency.credential.refresh_from_db()
    assert agency.credential.base_url == "https://integration.mspecs.se"


def test_the_admin_form_accepts_the_real_provider_host(client):
    agency = make_agency(base_url="https://test-integration.mspecs.se")
    client.force_login(agency_administrator(agency))
    url = reverse("admin:agencies_providercredential_change", args=[agency.credential.pk])

    response = client.post(
        url, admin_change_data(agency.credential, "https://integration.mspecs.se")
    )

    assert response.status_code == 302
    agency.credential.refresh_from_db()
    assert agency.credential.base_url == "https://integration.mspecs.se"


def test_the_admin_form_error_is_translated(client):
    agency = make_agency(base_url="https://integration.mspecs.se")
    client.force_login(agency_administrator(agency))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "sv"
    url = reverse("admin:agencies_providercredential_change", args=[agency.credential.pk])

    response = client.post(url, admin_change_data(agency.credential, "ftp://integration.mspecs.se"))

    assert "Använd en https://-adress" in response.text


# --- the demo command ----------------------------------------------------------------------


def test_the_demo_refuses_the_sandbox_unless_the_operator_allowed_it(settings):
    settings.DEBUG = True
    settings.SANDBOX_PORT = free_port()
    settings.BROKER_ALLOWED_HOSTS = []

    with pytest.raises(CommandError, match=r"BROKER_ALLOWED_HOSTS=http://127\.0\.0\.1"):
        call_command("demo", stdout=None)

    assert not ProviderCredential.objects.exists()


def test_the_demo_wires_the_sandbox_when_the_operator_allowed_it(settings):
    settings.DEBUG = True
    settings.BROKER_ALLOWED_HOSTS = ["http://127.0.0.1"]
    settings.SANDBOX_PORT = free_port()

    call_command("demo")

    assert ProviderCredential.objects.count() == 3


# --- the setting itself ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry", ["http://127.0.0.1:8001", "https://broker.example.se/api", "ftp://broker.example.se"]
)
def test_an_allowed_provider_host_entry_that_is_not_a_host_stops_start_up(entry):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=os.environ | {"BROKER_ALLOWED_HOSTS": entry},
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    assert (
        f"BROKER_ALLOWED_HOSTS: '{entry}' is neither a host name nor http://host" in result.stderr
    )


@pytest.mark.parametrize(
    ("entry", "base_url"),
    [
        ("https://broker.example.se", "https://broker.example.se/mspecs"),
        ("BROKER.example.se", "https://broker.example.se/mspecs"),
        ("http://[::1]", "http://[::1]:8001/mspecs"),
    ],
)
def test_allowed_provider_host_entries_are_read_as_hosts(settings, entry, base_url):
    settings.BROKER_ALLOWED_HOSTS = [entry]

    credential_for(Provider.MSPECS, base_url).full_clean()
