"""MSPECS credentials as the vendor documents them: the subscriber id sent as the
`subscriber-id` header on every call, and Bearer access tokens instead of Basic; the
secret encrypted and write-only. The webhook secret is the provider account's, not the
agency's: no credential page asks for it."""

import pytest
import requests
from django.core.exceptions import ValidationError

from agencies.models import AuthScheme, CredentialStatus, Provider
from bookings import polling
from bookings.delivery.sending import deliver
from bookings.models import Booking
from bookings.providers import client_for
from bookings.providers.base import SourceReadError
from tests.factories import make_booking, make_slot_viewing, mspecs_deal
from tests.test_credential_admin import ROLES, change_url, form_data, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def bearer_agency(make_agency, sandbox):
    sandbox.set_access_token("token-abc", "sandbox-subscriber")
    return make_agency(
        Provider.MSPECS, auth_scheme=AuthScheme.BEARER, username="", secret="token-abc"
    )


def test_a_booking_is_delivered_with_a_bearer_access_token(bearer_agency, sandbox):
    booking = make_booking(bearer_agency)

    assert deliver(booking.pk) == "delivered"
    assert len(sandbox.received("mspecs")) == 1


def test_a_wrong_access_token_holds_the_agencys_bookings(make_agency, sandbox):
    agency = make_agency(
        Provider.MSPECS, auth_scheme=AuthScheme.BEARER, username="", secret="not-a-token"
    )
    booking = make_booking(agency)

    assert deliver(booking.pk) == "auth_failed"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.HELD


def test_the_access_token_is_sent_as_bearer_not_basic(bearer_agency):
    session = client_for(bearer_agency.credential).session
    request = session.prepare_request(requests.Request("GET", bearer_agency.credential.base_url))

    assert request.headers["Authorization"] == "Bearer token-abc"
    assert request.headers["subscriber-id"] == "sandbox-subscriber"


def test_a_subscriber_the_login_may_not_act_for_is_refused_on_every_call(make_agency, sandbox):
    agency = make_agency(Provider.MSPECS, mspecs_subscriber_id="someone-else")
    sandbox.set_deal("deal-1", {"a1": 5})
    sandbox.set_mspecs_deal("deal-1", mspecs_deal("deal-1", []))
    make_slot_viewing(agency, "deal-1", ["a1"])
    booking = make_booking(agency)
    client = client_for(agency.credential)

    with pytest.raises(SourceReadError) as error:
        client.fetch_viewings("deal-1")
    summary = polling.poll_slots()

    assert "HTTP 403" in str(error.value.problem)
    assert "HTTP 403" in next(iter(summary.errors.values()))
    assert deliver(booking.pk) == "auth_failed"


def test_the_subscriber_id_is_no_broker_id_with_a_slash(make_agency):
    credential = make_agency(Provider.MSPECS).credential
    credential.mspecs_subscriber_id = "a/b"

    with pytest.raises(ValidationError) as error:
        credential.full_clean()

    assert "mspecs_subscriber_id" in error.value.message_dict


def post_credential(client, credential, **changes):
    return client.post(change_url(credential), form_data(credential, **changes))


def form_errors(response) -> dict:
    return response.context["adminform"].form.errors


def test_an_mspecs_credential_may_use_an_access_token_without_a_user_name(
    admin_client, make_agency
):
    credential = make_agency(Provider.MSPECS).credential

    response = post_credential(
        admin_client, credential, auth_scheme="bearer", username="", secret="token-new"
    )

    assert response.status_code == 302
    credential.refresh_from_db()
    assert (credential.auth_scheme, credential.secret) == ("bearer", "token-new")


def test_basic_needs_a_user_name(admin_client, make_agency):
    credential = make_agency(Provider.MSPECS).credential

    response = post_credential(admin_client, credential, username="", secret="pw")

    assert "username" in form_errors(response)


def test_vitec_takes_no_access_token(admin_client, make_agency):
    credential = make_agency(Provider.VITEC).credential

    response = post_credential(admin_client, credential, auth_scheme="bearer", secret="token")

    assert "auth_scheme" in form_errors(response)


@pytest.mark.parametrize(
    "changes", [{"auth_scheme": "bearer", "username": ""}, {"mspecs_subscriber_id": "other-sub"}]
)
def test_changing_the_scheme_or_subscriber_needs_the_secret_again(
    admin_client, make_agency, changes
):
    credential = make_agency(Provider.MSPECS).credential

    response = post_credential(admin_client, credential, **changes)

    assert "secret" in form_errors(response)
    credential.refresh_from_db()
    assert credential.auth_scheme == "basic"
    assert credential.mspecs_subscriber_id == "sandbox-subscriber"


@pytest.mark.parametrize("role", ROLES)
def test_no_page_shows_the_access_token(client, make_agency, role, bearer_agency):
    sign_in(client, role, bearer_agency, make_agency())

    page = client.get(change_url(bearer_agency.credential)).content.decode()

    assert "token-abc" not in page


def test_the_credential_page_asks_for_no_webhook_secret_or_address(admin_client, make_agency):
    agency = make_agency(Provider.MSPECS, slug="maklarhuset")

    page = admin_client.get(change_url(agency.credential)).content.decode()

    assert 'name="mspecs_subscriber_id"' in page
    assert "webhook_secret" not in page and "/webhooks/mspecs/" not in page


def test_a_failing_credential_changed_to_a_token_becomes_untested(admin_client, make_agency):
    credential = make_agency(Provider.MSPECS).credential
    credential.mark_status(CredentialStatus.FAILING)

    post_credential(admin_client, credential, auth_scheme="bearer", username="", secret="t")

    credential.refresh_from_db()
    assert credential.status == CredentialStatus.UNTESTED
