"""MSPECS's two public APIs (docs/mspecs.md, "Two APIs"): the credential says which one it
speaks; its base URL must be a host of that API; buyers are posted to that API's route with
the body the contract gives (contract/external_viewer.schema.json); the choice is made in
the credential's admin form by an agency administrator or a superuser."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse

from agencies.models import Membership, MspecsApi, Provider, ProviderCredential
from bookings.delivery.sending import deliver
from bookings.models import Booking, Viewing
from bookings.providers import client_for, plugin_for
from bookings.providers.mspecs.client import ExternalViewingClient, MspecsClient
from tests.factories import make_agency, make_booking, make_slot, make_staff_user, make_viewing

CONTRACT = plugin_for(Provider.MSPECS).contract
PROVIDER, EXTERNAL = MspecsApi.PROVIDER, MspecsApi.EXTERNAL_VIEWING

pytestmark = pytest.mark.django_db


def credential_for(mspecs_api, base_url, provider=Provider.MSPECS):
    return ProviderCredential(
        agency=make_agency(provider, with_credential=False),
        base_url=base_url,
        username="api",
        secret="s3cret",
        mspecs_api=mspecs_api,
        vitec_customer_id="customer-1" if provider == Provider.VITEC else "",
    )


# --- hosts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mspecs_api", "base_url"),
    [
        (PROVIDER, "https://integration.mspecs.se"),
        (PROVIDER, "https://test-integration.mspecs.se/"),
        (EXTERNAL, "https://login.mspecs.se"),
        (EXTERNAL, "https://stage.mspecs.se/"),
        (EXTERNAL, "https://demo.mspecs.se"),
        (EXTERNAL, "https://LOGIN.mspecs.se/"),
    ],
)
def test_each_api_takes_its_own_production_and_test_hosts(mspecs_api, base_url):
    credential_for(mspecs_api, base_url).full_clean()


@pytest.mark.parametrize(
    ("mspecs_api", "base_url"),
    [
        (PROVIDER, "https://login.mspecs.se"),
        (PROVIDER, "https://demo.mspecs.se"),
        (EXTERNAL, "https://integration.mspecs.se"),
        (EXTERNAL, "https://test-integration.mspecs.se"),
    ],
)
def test_a_host_of_the_other_api_is_refused_saying_so(mspecs_api, base_url):
    with pytest.raises(ValidationError) as refused:
        credential_for(mspecs_api, base_url).full_clean()

    [message] = refused.value.message_dict["base_url"]
    assert "is an address of the other MSPECS API; choose that API" in message


@pytest.mark.parametrize(
    "base_url",
    [
        "http://login.mspecs.se/",  # plain http to the real host
        "https://user:pw@login.mspecs.se/",
        "https://login.mspecs.se@evil.example/",
        "https://login.mspecs.se.evil.example/",
        "https://login.mspecs.se/?next=/admin",
        "https://login.mspecs.se/#",
        "https://api.mspecs.se/",  # not a host MSPECS documents for either API
        "https://evil.example/",
        "https://connect.maklare.vitec.net/",
        "https://169.254.169.254/",
        "https://login.mspecs.se:99999/",
    ],
)
def test_a_hostile_base_url_is_refused_for_the_external_viewing_api(base_url):
    with pytest.raises(ValidationError) as refused:
        credential_for(EXTERNAL, base_url).full_clean()

    assert "base_url" in refused.value.message_dict


def test_vitec_ignores_the_mspecs_api():
    credential_for(EXTERNAL, "https://connect.maklare.vitec.net", Provider.VITEC).full_clean()


def test_a_credential_stored_with_the_other_apis_host_is_not_called(sandbox, settings):
    agency = make_agency(sandbox=sandbox, mspecs_api=EXTERNAL)
    ProviderCredential.objects.filter(pk=agency.credential.pk).update(
        base_url="https://integration.mspecs.se"
    )
    agency.credential.refresh_from_db()

    record = client_for(agency.credential).call("GET", "/schema")

    assert record.address_refused
    assert "other MSPECS API" in str(record.error)


# --- which client, which route --------------------------------------------------------------


@pytest.mark.parametrize(
    ("mspecs_api", "client_class"), [(PROVIDER, MspecsClient), (EXTERNAL, ExternalViewingClient)]
)
def test_the_credential_picks_the_client_of_its_api(sandbox, mspecs_api, client_class):
    agency = make_agency(sandbox=sandbox, mspecs_api=mspecs_api)

    assert type(client_for(agency.credential)) is client_class


def test_a_credential_stored_before_the_choice_speaks_the_provider_api():
    assert ProviderCredential._meta.get_field("mspecs_api").default == PROVIDER


@pytest.mark.parametrize(
    ("mspecs_api", "time_slots", "path"),
    [
        (EXTERNAL, False, "/mspecs/v3/viewings/externalViewer/v-7"),
        (EXTERNAL, True, "/mspecs/v3/viewings/externalViewer/v-7/slot/s-9"),
        (PROVIDER, False, "/mspecs/api/marketing/deals/deal-1/externalViewer/v-7"),
        (PROVIDER, True, "/mspecs/api/marketing/deals/deal-1/externalViewer/v-7/slot/s-9"),
    ],
)
def test_a_buyer_is_posted_to_the_route_of_the_credentials_api(
    sandbox, mspecs_api, time_slots, path
):
    agency = make_agency(sandbox=sandbox, mspecs_api=mspecs_api)
    viewing = make_viewing(
        agency,
        provider_viewing_id="v-7",
        mspecs_deal_id="deal-1",
        viewing_type=Viewing.Type.TIME_SLOTS if time_slots else Viewing.Type.ORDINARY,
    )
    sandbox.set_deal("deal-1", {"s-9": 5})
    booking = make_booking(
        viewing, make_slot(viewing, provider_slot_id="s-9") if time_slots else None
    )

    assert deliver(booking.pk) == "delivered"

    [received] = sandbox.received("mspecs")
    assert received["path"] == path
    CONTRACT.check("external_viewer", received["body"])


def test_with_the_provider_api_a_viewing_without_its_deal_is_posted_to_the_v3_route(sandbox):
    booking = make_booking(make_agency(sandbox=sandbox), viewing_id="v-7")

    deliver(booking.pk)

    [received] = sandbox.received("mspecs")
    assert received["path"] == "/mspecs/v3/viewings/externalViewer/v-7"
    assert Booking.objects.get().status == Booking.Status.DELIVERED


def test_the_seeds_example_buyer_fits_the_external_viewer_contract():
    CONTRACT.check("external_viewer", CONTRACT.example("external_viewer"))


# --- the admin form ----------------------------------------------------------------------------


def agency_administrator(agency):
    return make_staff_user(agency, role=Membership.Role.ADMIN)


def superuser(agency):
    return get_user_model().objects.create_superuser("root", "root@example.se", "pw")


def form_data(credential, **changes):
    return {
        "agency": credential.agency_id,
        "base_url": credential.base_url,
        "auth_scheme": credential.auth_scheme,
        "mspecs_api": credential.mspecs_api,
        "username": credential.username,
        "secret": "",
        "mspecs_subscriber_id": credential.mspecs_subscriber_id,
        "vitec_reminder_minutes": 120,
        **changes,
    }


def change_url(credential):
    return reverse("admin:agencies_providercredential_change", args=[credential.pk])


@pytest.fixture
def signed_in(client):
    def sign_in(make_user):
        agency = make_agency(base_url="https://integration.mspecs.se")
        client.force_login(make_user(agency))
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return agency.credential

    return sign_in


@pytest.mark.parametrize("make_user", [agency_administrator, superuser])
def test_the_credential_page_offers_the_two_apis_and_says_what_each_needs(
    client, signed_in, make_user
):
    credential = signed_in(make_user)

    response = client.get(change_url(credential))

    assert response.status_code == 200
    assert 'name="mspecs_api"' in response.text
    assert "External viewing API and MSPX API (login.mspecs.se" in response.text
    assert "needs a provider agreement" in response.text


@pytest.mark.parametrize("make_user", [agency_administrator, superuser])
def test_switching_to_the_external_viewing_api_with_its_host_and_a_new_secret_is_saved(
    client, signed_in, make_user
):
    credential = signed_in(make_user)

    response = client.post(
        change_url(credential),
        form_data(
            credential,
            mspecs_api=EXTERNAL,
            base_url="https://login.mspecs.se",
            secret="the-agencys-own-api-user",
        ),
    )

    assert response.status_code == 302
    credential.refresh_from_db()
    assert (credential.mspecs_api, credential.base_url) == (EXTERNAL, "https://login.mspecs.se")


@pytest.mark.parametrize("make_user", [agency_administrator, superuser])
def test_switching_api_but_keeping_the_other_apis_host_is_refused(client, signed_in, make_user):
    credential = signed_in(make_user)

    response = client.post(
        change_url(credential), form_data(credential, mspecs_api=EXTERNAL, secret="new")
    )

    assert response.status_code == 200
    assert "integration.mspecs.se is an address of the other MSPECS API" in response.text
    credential.refresh_from_db()
    assert credential.mspecs_api == PROVIDER


@pytest.mark.parametrize("make_user", [agency_administrator, superuser])
def test_switching_api_needs_the_secret_again(client, signed_in, make_user, settings):
    settings.BROKER_ALLOWED_HOSTS = ["broker-proxy.example.se"]  # a host both APIs may use
    credential = signed_in(make_user)
    ProviderCredential.objects.filter(pk=credential.pk).update(
        base_url="https://broker-proxy.example.se"
    )
    credential.refresh_from_db()

    response = client.post(change_url(credential), form_data(credential, mspecs_api=EXTERNAL))

    assert response.status_code == 200
    assert "Enter the secret again" in response.text
    credential.refresh_from_db()
    assert credential.mspecs_api == PROVIDER


def test_a_post_without_the_choice_keeps_the_stored_api(client, signed_in):
    credential = signed_in(agency_administrator)
    ProviderCredential.objects.filter(pk=credential.pk).update(
        mspecs_api=EXTERNAL, base_url="https://login.mspecs.se"
    )
    credential.refresh_from_db()
    data = form_data(credential)
    del data["mspecs_api"]

    response = client.post(change_url(credential), data)

    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.mspecs_api == EXTERNAL


def test_staff_cannot_change_the_api(client):
    agency = make_agency(base_url="https://integration.mspecs.se")
    client.force_login(make_staff_user(agency))
    credential = agency.credential

    response = client.post(
        change_url(credential),
        form_data(credential, mspecs_api=EXTERNAL, base_url="https://login.mspecs.se", secret="x"),
    )

    assert response.status_code == 403
    credential.refresh_from_db()
    assert credential.mspecs_api == PROVIDER
