import socket
from datetime import timedelta
from io import StringIO

import pytest
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from agencies.models import Agency, CredentialStatus, Membership, Provider, ProviderCredential
from bookings.delivery import sending
from bookings.management.commands.demo import SANDBOX_MSPECS_SUBSCRIBER, SANDBOX_SECRET
from bookings.management.commands.sandbox import seed, seed_deals
from bookings.models import Booking, Viewing, ViewingSlot
from bookings.providers import plugin_for
from bookings.sandbox import SandboxProviders
from bookings.viewing_import.service import import_source
from tests.factories import free_port
from tests.test_credential_admin import change_url, form_data

MODELS = [Agency, ProviderCredential, Membership, Viewing, ViewingSlot, Booking, get_user_model()]


@pytest.fixture(autouse=True)
def debug_on(settings):
    settings.DEBUG = True  # the demo is for development
    settings.SANDBOX_PORT = free_port()  # the demo runs its sandbox there while it loads


def counts():
    return {model.__name__: model.objects.count() for model in MODELS}


def test_demo_loads_both_providers_with_bookings_in_several_states(db, capsys):
    call_command("demo")

    assert set(Agency.objects.values_list("provider", flat=True)) == {"mspecs", "vitec"}
    assert set(Viewing.objects.values_list("viewing_type", flat=True)) == set(Viewing.Type)
    assert {"queued", "delivered", "rejected", "failed"} <= set(
        Booking.objects.values_list("status", flat=True)
    )
    assert "admin / viewing-bridge-demo" in capsys.readouterr().out


def test_running_demo_twice_creates_nothing_new(db):
    call_command("demo")
    first = counts()

    call_command("demo")

    assert counts() == first


def test_demo_refuses_to_run_with_debug_off(db, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="for development only"):
        call_command("demo")

    assert not get_user_model().objects.exists()


def test_demo_leaves_a_booking_in_every_state_with_the_attempts_that_explain_it(db, capsys):
    call_command("demo")

    def booking(first_name):
        return Booking.objects.get(first_name=first_name)

    Status = Booking.Status
    expected = {
        "Anna": Status.DELIVERED,
        "Björn": Status.RETRYING,
        "Cecilia": Status.REJECTED,
        "David": Status.FAILED,
        "Erik": Status.QUEUED,
        "Fatima": Status.DELIVERED,
        "Gustav": Status.NEEDS_REVIEW,
        "Hanna": Status.HELD,
        "Ivar": Status.HELD,
        "Jenny": Status.CANCELLED,
    }
    assert {name: booking(name).status for name in expected} == expected
    # Each state comes from the engine's own answers, recorded as attempts.
    every_attempt = len(settings.DELIVERY_RETRY_SCHEDULE) + 1
    assert (
        list(booking("David").attempts.values_list("http_status", flat=True))
        == [500] * every_attempt
    )
    assert booking("Björn").next_attempt_at > timezone.now() + timedelta(minutes=50)
    assert "(HTTP 400): Invalid phone number." in str(booking("Cecilia").last_problem)
    assert booking("Gustav").attempts.get().http_status is None
    assert booking("Hanna").attempts.get().http_status == 401
    assert not booking("Ivar").attempts.exists()  # held without burning an attempt
    assert not booking("Erik").attempts.exists()  # the worker sends it


def test_demo_tests_the_credentials_and_breaks_one_on_purpose(db):
    call_command("demo")

    statuses = dict(ProviderCredential.objects.values_list("agency__slug", "status"))

    assert statuses == {
        "maklarhuset-demo": CredentialStatus.OK,
        "vitec-makleri-demo": CredentialStatus.OK,  # the estate list proves the login
        "trasiga-nyckeln-demo": CredentialStatus.FAILING,
    }


def test_demo_prints_the_admin_the_logins_and_a_public_booking_link(db, capsys):
    call_command("demo")

    out = capsys.readouterr().out
    viewing = Viewing.objects.get(provider_viewing_id="MSP-1001")
    assert "http://127.0.0.1:8000/admin/" in out
    assert "admin / viewing-bridge-demo" in out
    assert f"http://127.0.0.1:8000/book/{viewing.public_id}/" in out


def test_demo_refuses_clearly_when_the_sandbox_port_is_taken(db, settings):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings.SANDBOX_PORT = taken.getsockname()[1]

        with pytest.raises(CommandError, match=r"stop `manage\.py sandbox`"):
            call_command("demo")

    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_the_sandbox_holds_demo_deals_to_import_in_mspecs_shapes(make_agency, sandbox):
    agency = make_agency(Provider.MSPECS)
    seed_deals(sandbox)  # every deal is checked against MSPECS's contract as it is set

    timed, day = import_source(agency, "DEAL-2001"), import_source(agency, "DEAL-2002")
    sold = import_source(agency, "DEAL-2003")

    assert (timed.created, timed.problem) == (2, None)
    assert day.created == 1 and day.viewings[0].date_only
    assert sold.problem.code == "source_sold"


@pytest.fixture
def served(db):
    """The demo loaded, then the sandbox served where the demo's credentials point and
    seeded as `manage.py sandbox` seeds it: what `make run` leaves running."""
    call_command("demo")
    with SandboxProviders(settings.SANDBOX_HOST, settings.SANDBOX_PORT) as sandbox:
        seed(sandbox)
        yield sandbox


def import_viewings(*args) -> str:
    out = StringIO()
    call_command("import_viewings", *args, stdout=out)
    return out.getvalue()


def test_both_demo_agencies_list_their_sources_to_import(served):
    mspecs = import_viewings("maklarhuset-demo", "--list")
    vitec = import_viewings("vitec-makleri-demo", "--list")

    assert mspecs.splitlines() == [
        "DEAL-2001\tGötgatan 12, 118 46 Stockholm",
        "DEAL-2002\tRingvägen 3, 752 37 Uppsala",
        "DEAL-2003\tHamngatan 8, 211 22 Malmö",
    ]
    assert vitec.splitlines() == [
        "OBJ20001_1000001\tKungsgatan 5, Göteborg",
        "OBJ20001_1000002\tSjönära villa med egen brygga",
    ]
    [request] = served.published_deals_requests()
    assert plugin_for(Provider.MSPECS).contract.violations("published_deals_request", request) == []


def test_the_demos_source_lists_are_in_the_vendors_shapes(served):
    auth = ("sandbox", SANDBOX_SECRET)
    deals = requests.get(
        f"{served.mspecs_url}/api/marketing/deals",
        auth=auth,
        headers={"subscriber-id": SANDBOX_MSPECS_SUBSCRIBER},
        timeout=5,
    )
    estates = requests.get(
        f"{served.vitec_url}/Advertising/Estate/sandbox-customer",
        params={"PageSize": 10, "PageIndex": 0},
        auth=auth,
        timeout=5,
    )

    mspecs = plugin_for(Provider.MSPECS).contract
    vitec = plugin_for(Provider.VITEC).contract
    assert mspecs.violations("published_deals", deals.json()) == []
    assert vitec.violations("estate-list", estates.json()) == []


@pytest.mark.parametrize(
    "agency, source_id, imported",
    [
        ("maklarhuset-demo", "DEAL-2001", "2 viewings imported (2 new)"),
        ("maklarhuset-demo", "DEAL-2002", "1 viewings imported (1 new)"),
        ("vitec-makleri-demo", "OBJ20001_1000001", "1 viewings imported (0 new)"),
        ("vitec-makleri-demo", "OBJ20001_1000002", "1 viewings imported (1 new)"),
    ],
)
def test_the_demos_listed_sources_import(served, agency, source_id, imported):
    assert imported in import_viewings(agency, source_id)


def test_the_demos_sold_deal_is_refused_as_sold(served):
    with pytest.raises(CommandError, match="DEAL-2003 is sold"):
        import_viewings("maklarhuset-demo", "DEAL-2003")


def test_the_readmes_fix_of_the_broken_credential_sends_the_held_bookings(served, client):
    """docs/guide-administrator.md, "Try it: fixing the broken credential": the agency
    administrator enters the sandbox's secret on the broken agency's credential page."""
    credential = ProviderCredential.objects.get(agency__slug="trasiga-nyckeln-demo")
    client.force_login(get_user_model().objects.get(username="mspecs-admin"))

    response = client.post(change_url(credential), form_data(credential, secret=SANDBOX_SECRET))
    held = Booking.objects.filter(viewing__agency=credential.agency)
    for booking in held:
        sending.deliver(booking.pk)  # as the worker does

    assert response.status_code == 302
    assert sorted(held.values_list("first_name", "status")) == [
        ("Hanna", Booking.Status.DELIVERED),
        ("Ivar", Booking.Status.DELIVERED),
    ]
    received = [entry["body"] for entry in served.received("mspecs")]
    assert sorted(body["email"] for body in received) == [
        "hanna.holm@example.se",
        "ivar.ivarsson@example.se",
    ]
    contract = plugin_for(Provider.MSPECS).contract
    assert [contract.violations("external_viewer", body) for body in received] == [[], []]
