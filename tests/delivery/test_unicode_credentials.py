"""Basic auth goes out as UTF-8, so a login with any character works on every call."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from agencies.models import CredentialStatus, Provider
from bookings.delivery.credentials import check_credential
from bookings.delivery.sending import deliver
from tests.factories import by_staff, make_booking, make_slot_viewing

BOTH = pytest.mark.parametrize("system", [Provider.MSPECS, Provider.VITEC])
# Outside Latin-1 ("€", "Ł"), and inside it but not ASCII ("é", sent as Latin-1 before).
SECRETS = pytest.mark.parametrize("secret", ["pris-100€", "Łódź-hasło", "café-crème"])


@pytest.fixture
def unicode_login(sandbox):
    """The provider knows the user `Åsa` with the secret given."""

    def login(secret):
        sandbox.set_credential("Åsa", secret)
        return {"username": "Åsa", "secret": secret}

    return login


@BOTH
@SECRETS
@pytest.mark.django_db
def test_a_booking_is_delivered_with_a_non_latin1_login(
    system, secret, make_agency, sandbox, unicode_login
):
    booking = make_booking(make_agency(system, **unicode_login(secret)))

    assert deliver(booking.pk) == "delivered"
    assert len(sandbox.received(system)) == 1


@SECRETS
@pytest.mark.django_db
def test_test_connection_accepts_a_non_latin1_login(secret, make_agency, sandbox, unicode_login):
    agency = make_agency(Provider.MSPECS, **unicode_login(secret))
    sandbox.set_deal("deal-1", {"a1": 5})
    make_slot_viewing(agency, "deal-1", ["a1"])

    check = check_credential(agency.credential, by_staff())

    assert check.ok is True
    agency.credential.refresh_from_db()
    assert agency.credential.status == CredentialStatus.OK


@BOTH
@pytest.mark.django_db
def test_the_test_connection_action_answers_a_page_for_a_non_latin1_secret(
    system, admin_client, make_agency, unicode_login
):
    agency = make_agency(system, **unicode_login("pris-100€"))
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    response = admin_client.post(
        reverse("admin:agencies_providercredential_changelist"),
        {"action": "test_connection", "_selected_action": [agency.credential.pk]},
        follow=True,
    )

    assert response.status_code == 200
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    # The sandbox answers only after the login passed; 401 would be "Refused". (MSPECS
    # without a deal reads a made-up one: 404; Vitec reads its estate list: 200.)
    expected = {Provider.MSPECS: "answered HTTP 404", Provider.VITEC: "(HTTP 200)"}
    assert expected[system] in message


@pytest.mark.django_db
def test_a_wrong_non_latin1_secret_is_refused_not_an_error(make_agency, sandbox, unicode_login):
    unicode_login("pris-100€")
    credential = make_agency(username="Åsa", secret="pris-200€").credential

    check = check_credential(credential, by_staff())

    assert check.ok is False
    assert "401" in check.message
