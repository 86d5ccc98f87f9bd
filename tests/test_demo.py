import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from agencies.models import Agency, Membership, ProviderCredential
from bookings.models import Booking, Viewing, ViewingSlot

MODELS = [Agency, ProviderCredential, Membership, Viewing, ViewingSlot, Booking, get_user_model()]


@pytest.fixture(autouse=True)
def debug_on(settings):
    settings.DEBUG = True  # the demo is for development


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
