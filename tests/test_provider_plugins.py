"""The rest of the code asks a provider's plug-in what it can do: a third system,
registered with the capabilities it has, is served like the one that has them."""

from dataclasses import replace

import pytest
from django.urls import reverse

from agencies.models import AuthScheme, MspecsApi, Provider
from bookings import polling, providers
from bookings.delivery.credentials import provider_errors
from bookings.models import Viewing
from bookings.providers import plugin_for, systems_with
from bookings.providers.base import BuyerConfirmation
from bookings.quarantine import queries as quarantine
from tests.factories import delivered_booking, make_agency, make_staff_user, make_viewing
from tests.test_credential_admin import ROLES, change_url, form_data, sign_in

pytestmark = pytest.mark.django_db

THIRD = "third"


@pytest.fixture
def third_system(monkeypatch):
    """Registers a third provider: MSPECS's client, only the capabilities given."""

    def register(**capabilities):
        none = {"polls_slot_status": False, "has_quarantine": False, "pushes_source_events": False}
        plugin = replace(
            plugin_for(Provider.MSPECS),
            system=THIRD,
            buyer_confirmation=lambda credential: BuyerConfirmation.NONE,
            **(none | capabilities),
        )
        # The URLconf first: the API document it builds names every registered system.
        reverse("admin:index")
        monkeypatch.setitem(providers.PLUGINS, THIRD, plugin)
        return plugin

    return register


def test_systems_with_names_the_systems_whose_plug_in_can():
    assert systems_with("has_quarantine") == [Provider.MSPECS]
    assert systems_with("polls_slot_status") == [Provider.MSPECS]
    assert systems_with("every_viewing_has_slots") == [Provider.VITEC]
    assert systems_with("needs_customer_id") == [Provider.VITEC]


def test_a_misspelt_capability_is_an_error_not_an_empty_list():
    with pytest.raises(AttributeError):
        systems_with("has_quarantaine")


def test_a_third_system_with_a_quarantine_is_mirrored(third_system):
    third_system(has_quarantine=True)
    viewing = make_viewing(make_agency(THIRD))
    delivered_booking(viewing, email="anna@example.se")
    superuser = make_staff_user(username="root")
    superuser.is_superuser = True

    assert [row["email"] for row in quarantine.pending_entries(superuser)] == ["anna@example.se"]


def test_a_third_system_without_one_is_not(third_system):
    third_system()
    delivered_booking(make_viewing(make_agency(THIRD)), email="anna@example.se")
    superuser = make_staff_user(username="root")
    superuser.is_superuser = True

    assert list(quarantine.pending_entries(superuser)) == []


def test_a_third_system_whose_viewings_all_have_slots_books_every_viewing_by_slot(
    third_system,
):
    third_system(every_viewing_has_slots=True)

    assert make_viewing(make_agency(THIRD)).needs_slot


def test_a_third_system_polling_slot_status_has_its_time_slot_viewings_polled(third_system):
    third_system(polls_slot_status=True)
    viewing = make_viewing(make_agency(THIRD), viewing_type=Viewing.Type.TIME_SLOTS)

    assert list(polling.pollable_viewings()) == [viewing]


@pytest.fixture
def vitec_agency(db):
    return make_agency(Provider.VITEC, name="Own Agency")


@pytest.fixture
def elsewhere(db):
    return make_agency(name="Other Agency")


# What each provider's plug-in says a credential must name, and how the form says so.
NEEDED_IDS = [
    (Provider.VITEC, "vitec_customer_id", "Vitec Express needs the agency's customer id."),
    (
        Provider.MSPECS,  # its provider API, every MSPECS credential's default
        "mspecs_subscriber_id",
        "MSPECS needs the agency's subscriber id for this API.",
    ),
]


@pytest.mark.parametrize(("system", "field", "message"), NEEDED_IDS)
@pytest.mark.parametrize("role", [r for r in ROLES if r != "staff"])
def test_a_credential_needs_the_ids_its_provider_asks_for(
    client, elsewhere, role, system, field, message
):
    own = make_agency(system, name="Own Agency", slug="own")
    if role == "staff_here_administrator_there":  # administrator of the agency edited
        sign_in(client, role, elsewhere, own)
    else:
        sign_in(client, role, own, elsewhere)
    credential = own.credential

    response = client.post(
        change_url(credential),
        form_data(credential, **{field: ""}, secret="sandbox-secret"),
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.context["adminform"].form.errors[field] == [message]


def test_the_external_viewing_api_needs_no_subscriber_id():
    credential = make_agency(Provider.MSPECS).credential
    credential.mspecs_api = MspecsApi.EXTERNAL_VIEWING
    credential.mspecs_subscriber_id = ""

    assert "mspecs_subscriber_id" not in provider_errors(credential)


def test_a_vitec_credential_refuses_an_access_token_in_swedish(admin_client, vitec_agency):
    credential = vitec_agency.credential

    response = admin_client.post(
        change_url(credential),
        form_data(credential, auth_scheme=AuthScheme.BEARER, secret="token"),
        HTTP_ACCEPT_LANGUAGE="sv",
    )

    [message] = response.context["adminform"].form.errors["auth_scheme"]
    assert message.startswith("Vitec Express tar bara emot HTTP Basic")


def test_an_mspecs_credential_may_hold_an_access_token(admin_client):
    credential = make_agency(Provider.MSPECS).credential

    response = admin_client.post(
        change_url(credential),
        form_data(credential, auth_scheme=AuthScheme.BEARER, username="", secret="token"),
    )

    assert response.status_code == 302


def test_a_third_system_taking_tokens_only_refuses_basic(third_system):
    third_system(auth_schemes=(AuthScheme.BEARER,))
    credential = make_agency(THIRD).credential

    errors = provider_errors(credential)

    assert list(errors) == ["auth_scheme"]
    assert errors["auth_scheme"].params["schemes"] == "Bearer access token (MSPECS)"
