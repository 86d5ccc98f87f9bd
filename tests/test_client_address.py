"""The client's address behind the proxy (bookings/client_address.py): X-Forwarded-For is read
only as far as TRUSTED_PROXY_COUNT trusts it, at every door that counts addresses (admin
sign-in, the booking page's rate limit, /metrics, the logs). The proxy case uses the value
the deploy files set (.env.example, which /etc/viewing-bridge/env starts from)."""

import re

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.test import RequestFactory

from agencies.models import ApiKey
from bookings.client_address import client_address
from bookings.models import Booking
from tests.factories import make_staff_user
from tests.test_admin_login_throttling import sign_in
from tests.test_public_booking import form_data, page_url

# gunicorn listens on loopback; nginx or Caddy on the same machine reaches it from here.
PROXY = "127.0.0.1"
CLIENT = "203.0.113.7"
OTHER_CLIENT = "198.51.100.23"


def deploy_setting(name: str) -> str:
    example = (django_settings.BASE_DIR / ".env.example").read_text()
    return re.search(rf"^{name}=(.*)$", example, re.MULTILINE)[1]


@pytest.fixture
def behind_the_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = int(deploy_setting("TRUSTED_PROXY_COUNT"))


def forwarded_for(client: str, sent: str | None = None) -> dict:
    """The header as gunicorn sees it: nginx's $proxy_add_x_forwarded_for appends the
    address it was reached from to what the client sent."""
    return {"HTTP_X_FORWARDED_FOR": f"{sent}, {client}" if sent else client}


def through_the_proxy(client: str, sent: str | None = None) -> dict:
    return {"REMOTE_ADDR": PROXY, **forwarded_for(client, sent)}


def address_of(**meta) -> str:
    return client_address(RequestFactory().get("/", **meta))


def test_the_deploy_files_trust_one_proxy():
    assert deploy_setting("TRUSTED_PROXY_COUNT") == "1"


def test_without_trusted_proxies_x_forwarded_for_is_ignored(settings):
    assert settings.TRUSTED_PROXY_COUNT == 0  # the default

    assert address_of(REMOTE_ADDR=CLIENT, HTTP_X_FORWARDED_FOR="10.0.0.5") == CLIENT


def test_behind_the_proxy_the_client_is_the_address_the_proxy_appended(behind_the_proxy):
    assert address_of(**through_the_proxy(CLIENT, sent="10.0.0.5, 192.0.2.1")) == CLIENT


def test_behind_two_proxies_the_client_is_the_second_address_from_the_right(settings):
    settings.TRUSTED_PROXY_COUNT = 2

    forwarded = f"10.0.0.5, {CLIENT}, 10.1.1.1"
    assert address_of(REMOTE_ADDR="10.1.1.2", HTTP_X_FORWARDED_FOR=forwarded) == CLIENT


@pytest.mark.parametrize("forwarded", [None, "", CLIENT, f" {CLIENT}"])
def test_a_header_shorter_than_the_proxies_leaves_remote_addr(settings, forwarded):
    settings.TRUSTED_PROXY_COUNT = 2
    header = {} if forwarded is None else {"HTTP_X_FORWARDED_FOR": forwarded}

    assert address_of(REMOTE_ADDR=PROXY, **header) == PROXY


@pytest.mark.parametrize(
    "entry",
    [
        "",
        " ",
        "unknown",
        "203.0.113.7:4711",
        "[2001:db8::1]",
        "[2001:db8::1]:443",
        "999.0.113.7",
        "203.0.113",
        "203.0.113.7 198.51.100.23",
        "for=203.0.113.7",
        "<script>alert(1)</script>",
        "x" * 10_000,
    ],
)
def test_a_garbage_entry_where_the_client_should_be_leaves_remote_addr(behind_the_proxy, entry):
    assert address_of(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"{CLIENT}, {entry}") == PROXY


def test_garbage_sent_by_the_client_left_of_the_proxys_entry_changes_nothing(behind_the_proxy):
    assert address_of(**through_the_proxy(CLIENT, sent="unknown, , ::zz, 10.0.0.5")) == CLIENT


@pytest.mark.parametrize("written", ["2001:db8::7", "2001:DB8:0:0:0::7", " 2001:0db8::0007"])
def test_an_ipv6_client_is_one_address_however_it_is_written(behind_the_proxy, written):
    assert address_of(**through_the_proxy(written)) == "2001:db8::7"


# The booking page's limit per address.


def post_booking(client, viewing, **meta):
    return client.post(page_url(viewing), form_data(phone="12"), **meta)


@pytest.mark.django_db
def test_behind_the_proxy_each_client_has_its_own_booking_limit(
    client, slot_viewing, settings, behind_the_proxy
):
    settings.BOOKING_RATE_LIMIT_PER_IP = 1
    post_booking(client, slot_viewing, **through_the_proxy(CLIENT))

    refused = post_booking(client, slot_viewing, **through_the_proxy(CLIENT))
    booked = client.post(page_url(slot_viewing), form_data(), **through_the_proxy(OTHER_CLIENT))

    assert refused.status_code == 429
    assert booked.status_code == 302
    assert Booking.objects.count() == 1


@pytest.mark.django_db
def test_behind_the_proxy_a_client_sending_x_forwarded_for_keeps_its_limit(
    client, slot_viewing, settings, behind_the_proxy
):
    settings.BOOKING_RATE_LIMIT_PER_IP = 1
    post_booking(client, slot_viewing, **through_the_proxy(CLIENT, sent="10.0.0.1"))

    response = post_booking(client, slot_viewing, **through_the_proxy(CLIENT, sent="10.0.0.2"))

    assert response.status_code == 429


@pytest.mark.django_db
def test_without_trusted_proxies_a_spoofed_x_forwarded_for_keeps_the_limit(
    client, slot_viewing, settings
):
    settings.BOOKING_RATE_LIMIT_PER_IP = 1
    post_booking(client, slot_viewing, REMOTE_ADDR=CLIENT, HTTP_X_FORWARDED_FOR="10.0.0.1")

    response = post_booking(
        client, slot_viewing, REMOTE_ADDR=CLIENT, HTTP_X_FORWARDED_FOR="10.0.0.2"
    )

    assert response.status_code == 429


# Admin sign-in (django-axes, AXES_CLIENT_IP_CALLABLE).


@pytest.fixture
def greta(db):
    return make_staff_user(username="greta")


def sign_in_through_the_proxy(client, username, password, address, sent=None):
    return sign_in(client, username, password, PROXY, **forwarded_for(address, sent))


def test_behind_the_proxy_one_clients_failures_lock_out_no_other_client(
    client, greta, behind_the_proxy
):
    for username in ["anna", "bo", "cecilia", "david", "erik"]:
        sign_in_through_the_proxy(client, username, "wrong", CLIENT)

    assert sign_in_through_the_proxy(client, "greta", "pw", CLIENT).status_code == 429
    assert sign_in_through_the_proxy(client, "greta", "pw", OTHER_CLIENT).status_code == 302


def test_behind_the_proxy_a_failed_sign_in_is_recorded_under_the_clients_address(
    client, greta, behind_the_proxy
):
    sign_in_through_the_proxy(client, "greta", "wrong", "2001:DB8::0:7", sent="10.0.0.5")

    assert AccessAttempt.objects.get().ip_address == "2001:db8::7"


def test_behind_the_proxy_a_client_sending_x_forwarded_for_stays_locked_out(
    client, greta, behind_the_proxy
):
    for n in range(5):
        sign_in_through_the_proxy(client, f"user{n}", "wrong", CLIENT, sent=f"10.0.0.{n}")

    response = sign_in_through_the_proxy(client, "greta", "pw", CLIENT, sent="10.0.0.9")

    assert response.status_code == 429


def test_without_trusted_proxies_a_spoofed_x_forwarded_for_stays_locked_out(client, greta):
    for n in range(5):
        sign_in(client, f"user{n}", "wrong", address=CLIENT, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")

    response = sign_in(client, "greta", "pw", address=CLIENT, HTTP_X_FORWARDED_FOR="10.0.0.9")

    assert response.status_code == 429


# /metrics' allowed addresses.


@pytest.mark.django_db
def test_behind_the_proxy_metrics_allowed_to_loopback_stay_closed_to_clients(
    client, settings, behind_the_proxy
):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_ADDRESSES = [PROXY]  # a scraper on the machine itself

    assert client.get("/metrics", **through_the_proxy(CLIENT)).status_code == 403
    assert client.get("/metrics", REMOTE_ADDR=PROXY).status_code == 200


# The JSON API counts per key, so the proxy's one address merges no clients there.


@pytest.mark.django_db
def test_behind_the_proxy_each_api_key_has_its_own_limit(
    client, mspecs_agency, settings, behind_the_proxy
):
    settings.API_RATE_LIMIT_PER_KEY = 1
    first, second = (ApiKey.issue(mspecs_agency, name)[1] for name in ["Website", "Portal"])

    def get(key):
        return client.get(
            "/api/v1/viewings", HTTP_AUTHORIZATION=f"Bearer {key}", **through_the_proxy(CLIENT)
        ).status_code

    assert [get(first), get(first), get(second)] == [200, 429, 200]


# The logs.


@pytest.mark.django_db
def test_behind_the_proxy_a_request_log_line_names_the_client(
    client, console_log, behind_the_proxy
):
    client.get("/book/00000000-0000-0000-0000-000000000000/", **through_the_proxy(CLIENT))

    assert f"client_address={CLIENT}" in console_log.text()
    assert f"client_address={PROXY}" not in console_log.text()
