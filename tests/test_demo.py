import socket
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from agencies.models import Agency, BrokerSystem, CredentialStatus, Membership, ProviderCredential
from bookings.management.commands.sandbox import seed_deals
from bookings.models import Booking, Viewing, ViewingSlot
from bookings.viewing_import.service import import_source
from tests.factories import free_port

MODELS = [Agency, ProviderCredential, Membership, Viewing, ViewingSlot, Booking, get_user_model()]


@pytest.fixture(autouse=True)
def debug_on(settings):
    settings.DEBUG = True  # the demo is for development
    settings.SANDBOX_PORT = free_port()  # the demo runs its sandbox there while it loads


def counts():
    return {model.__name__: model.objects.count() for model in MODELS}


def test_demo_loads_both_broker_systems_with_bookings_in_several_states(db, capsys):
    call_command("demo")

    assert set(Agency.objects.values_list("broker_system", flat=True)) == {"mspecs", "vitec"}
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
    agency = make_agency(BrokerSystem.MSPECS)
    seed_deals(sandbox)  # every deal is checked against MSPECS's contract as it is set

    timed, day = import_source(agency, "DEAL-2001"), import_source(agency, "DEAL-2002")
    sold = import_source(agency, "DEAL-2003")

    assert (timed.created, timed.problem) == (2, None)
    assert day.created == 1 and day.viewings[0].date_only
    assert sold.problem.code == "source_sold"
