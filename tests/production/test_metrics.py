"""GET /metrics: only for the scraper (token or allowed address), in the Prometheus text
format, read here with prometheus_client's own parser, and counted from the database."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from agencies.models import CredentialStatus, Membership, Provider
from agencies.problems import Problem
from bookings.delivery.sending import deliver
from bookings.models import Booking, Heartbeat, Viewing
from tests import factories
from tests.conftest import WORKER, count_status, wait_until
from tests.factories import (
    admin_booking_data,
    make_booking,
    make_staff_user,
    post_booking_api,
    post_booking_page,
    queue,
)

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-with-enough-randomness-0123456789"
Status = Booking.Status


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_ADDRESSES = []


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of one scrape with the token."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


# --- who may scrape ------------------------------------------------------------------------


def test_off_without_a_token_or_addresses(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_ADDRESSES = []

    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong-token",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        f"Basic {TOKEN}",
        TOKEN,
        f"Bearer {TOKEN}\x00",
        f"Bearer {'x' * 100_000}",
        "Bearer tökén-€",
    ],
    ids=[
        "none",
        "scheme only",
        "empty",
        "wrong",
        "longer",
        "shorter",
        "basic",
        "no scheme",
        "nul",
        "huge",
        "non-ascii",
    ],
)
def test_a_wrong_or_missing_token_is_refused(client, token, authorization):
    response = client.get("/metrics", HTTP_AUTHORIZATION=authorization)

    assert response.status_code == 403
    assert b"viewingbridge" not in response.content


def test_the_token_lets_the_scraper_in(client, token):
    assert ("viewingbridge_bookings_accepted_total", (("door", "page"),)) in scrape(client)


def test_the_scheme_is_case_insensitive(client, token):
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"bearer {TOKEN}").status_code == 200


def signed_in_users():
    def superuser():
        return get_user_model().objects.create_superuser("root", password="pw")

    def administrator():
        return make_staff_user(factories.make_agency(), role=Membership.Role.ADMIN)

    def staff():
        return make_staff_user(factories.make_agency())

    def staff_here_administrator_there():
        user = make_staff_user(factories.make_agency())
        Membership.objects.create(
            user=user, agency=factories.make_agency(), role=Membership.Role.ADMIN
        )
        return user

    return [superuser, administrator, staff, staff_here_administrator_there]


@pytest.mark.parametrize("make_user", signed_in_users(), ids=lambda make: make.__name__)
def test_signing_in_to_the_admin_is_no_way_in(client, token, make_user):
    client.force_login(make_user())

    assert client.get("/metrics").status_code == 403


@pytest.mark.parametrize(
    ("allowed", "remote_addr", "status"),
    [
        (["10.0.0.5"], "10.0.0.5", 200),
        (["10.0.0.0/8"], "10.20.30.40", 200),
        (["::1"], "::1", 200),
        (["10.0.0.5"], "10.0.0.6", 403),
        (["10.0.0.0/8"], "192.168.1.1", 403),
        (["10.0.0.5"], "", 403),
        (["10.0.0.5"], "not-an-address", 403),
    ],
)
def test_an_allowed_address_list_is_matched_against_remote_addr(
    client, settings, allowed, remote_addr, status
):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_ADDRESSES = allowed

    assert client.get("/metrics", REMOTE_ADDR=remote_addr).status_code == status


@pytest.mark.parametrize("header", ["HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_FORWARDED"])
def test_a_forwarded_address_does_not_get_in(client, settings, header):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_ADDRESSES = ["10.0.0.5"]
    spoofed = "for=10.0.0.5" if header == "HTTP_FORWARDED" else "10.0.0.5"

    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9", **{header: spoofed})

    assert response.status_code == 403


def test_an_allowed_address_needs_no_token_but_a_token_works_from_anywhere(client, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_ADDRESSES = ["10.0.0.5"]

    assert client.get("/metrics", REMOTE_ADDR="10.0.0.5").status_code == 200
    assert (
        client.get(
            "/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
        ).status_code
        == 200
    )


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_only_get(client, token, method):
    response = getattr(client, method)("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 405


def test_a_bad_allowed_address_stops_the_app_at_start():
    from tests.test_settings import PRODUCTION_ENV, manage

    result = manage("check", env=PRODUCTION_ENV | {"METRICS_ALLOWED_ADDRESSES": "10.0.0.0/33"})

    assert result.returncode != 0
    assert "METRICS_ALLOWED_ADDRESSES: '10.0.0.0/33' is neither an address nor a network" in (
        result.stderr
    )


# --- what it counts ------------------------------------------------------------------------


def test_bookings_accepted_are_counted_by_door(client, token, slot_viewing, api_key):
    assert post_booking_page(client, slot_viewing, email="page@example.se").status_code == 302
    assert post_booking_api(client, api_key, email="api1@example.se").status_code == 202
    assert post_booking_api(client, api_key, email="api2@example.se").status_code == 202
    client.force_login(get_user_model().objects.create_superuser("root", password="pw"))
    slot = slot_viewing.slots.get(provider_slot_id="slot-open")
    response = client.post(
        reverse("admin:bookings_booking_add"),
        admin_booking_data(slot_viewing, slot, email="admin@example.se"),
    )
    assert response.status_code == 302
    client.logout()

    metrics = scrape(client)

    accepted = "viewingbridge_bookings_accepted_total"
    assert metrics[(accepted, (("door", "page"),))] == 1
    assert metrics[(accepted, (("door", "api"),))] == 2
    assert metrics[(accepted, (("door", "admin"),))] == 1


@pytest.mark.parametrize("system", [Provider.MSPECS, Provider.VITEC])
def test_deliveries_by_provider_and_outcome_and_their_durations(
    client, token, make_agency, sandbox, system
):
    sandbox.set_latency(0.06)
    booking = make_booking(make_agency(system))
    sandbox.set_fault(status=503, count=1)
    deliver(booking.pk)
    Booking.objects.filter(pk=booking.pk).update(next_attempt_at=None)
    deliver(booking.pk)

    metrics = scrape(client)

    deliveries = "viewingbridge_deliveries_total"
    labels = (("broker_system", system.value),)
    assert metrics[(deliveries, (*labels, ("outcome", "retry")))] == 1
    assert metrics[(deliveries, (*labels, ("outcome", "delivered")))] == 1
    other = "vitec" if system == Provider.MSPECS else "mspecs"
    assert metrics[(deliveries, (("broker_system", other), ("outcome", "delivered")))] == 0
    duration = "viewingbridge_delivery_attempt_duration_seconds"
    assert metrics[(f"{duration}_count", labels)] == 2
    assert metrics[(f"{duration}_bucket", (*labels, ("le", "0.05")))] == 0
    assert metrics[(f"{duration}_bucket", (*labels, ("le", "+Inf")))] == 2
    assert 0.12 <= metrics[(f"{duration}_sum", labels)] < 2


def test_bookings_waiting_by_status_and_the_oldest_ones_age(client, token, make_agency):
    agency = make_agency()
    old = make_booking(agency, status=Status.RETRYING)
    Booking.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=2))
    make_booking(agency, status=Status.HELD)
    make_booking(agency, status=Status.QUEUED)
    delivered = make_booking(agency, status=Status.DELIVERED)
    Booking.objects.filter(pk=delivered.pk).update(created_at=timezone.now() - timedelta(days=9))

    metrics = scrape(client)

    waiting = "viewingbridge_bookings_waiting"
    assert metrics[(waiting, (("status", "retrying"),))] == 1
    assert metrics[(waiting, (("status", "held"),))] == 1
    assert metrics[(waiting, (("status", "queued"),))] == 1
    assert metrics[(waiting, (("status", "failed"),))] == 0
    assert (waiting, (("status", "delivered"),)) not in metrics
    age = metrics[("viewingbridge_oldest_waiting_booking_age_seconds", ())]
    assert 2 * 3600 <= age < 2 * 3600 + 60


def test_credentials_failing_and_slot_poll_errors(client, token, make_agency):
    make_agency(Provider.VITEC).credential.mark_status(CredentialStatus.FAILING)
    agency = make_agency(Provider.MSPECS)
    for title in ("A", "B"):
        viewing = Viewing.objects.create(
            agency=agency,
            provider_viewing_id=title,
            title=title,
            starts_at=timezone.now() + timedelta(days=1),
            ends_at=timezone.now() + timedelta(days=1, hours=1),
        )
    Viewing.objects.filter(pk=viewing.pk).update(
        slot_poll_problem=Problem("poll_timeout", {}).as_json()
    )

    metrics = scrape(client)

    assert metrics[("viewingbridge_credentials_failing", (("broker_system", "vitec"),))] == 1
    assert metrics[("viewingbridge_credentials_failing", (("broker_system", "mspecs"),))] == 0
    assert metrics[("viewingbridge_slot_poll_errors", (("problem", "poll_timeout"),))] == 1


def test_no_personal_data_or_secret_in_any_metric(client, token, make_agency, sandbox):
    booking = make_booking(
        make_agency(secret="sandbox-secret"),
        first_name="Zelda",
        last_name="Zetterlund",
        email="zelda@example.se",
    )
    deliver(booking.pk)

    body = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content

    for personal in (b"Zelda", b"Zetterlund", b"zelda@example.se", b"+4670", b"sandbox-secret"):
        assert personal not in body


def test_what_worker_processes_did_is_counted_by_the_web_process(
    client, token, make_agency, sandbox, start_process
):
    queue(make_agency(), 5)

    start_process(*WORKER, HEARTBEAT_SECONDS="0.2")
    wait_until(lambda: count_status(Status.DELIVERED) == 5)
    wait_until(lambda: Heartbeat.objects.exists())

    metrics = scrape(client)
    delivered = (("broker_system", "mspecs"), ("outcome", "delivered"))
    assert metrics[("viewingbridge_deliveries_total", delivered)] == 5
    assert ("viewingbridge_process_last_seen_timestamp_seconds", (("process", "worker"),)) in (
        metrics
    )
