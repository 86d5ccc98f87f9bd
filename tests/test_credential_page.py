"""The credential's page: its state at the top, Test connection as a button, and saving
says how many held bookings went again."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from agencies.models import CredentialStatus, Membership
from bookings.delivery.credentials import save_credential
from bookings.models import Booking
from bookings.problems import delivery as problems
from tests.factories import in_english, make_booking, make_staff_user

pytestmark = pytest.mark.django_db


def change_url(credential):
    return reverse("admin:agencies_providercredential_change", args=[credential.pk])


def connection_test_url(credential):
    return reverse("admin:agencies_providercredential_test", args=[credential.pk])


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def agency(make_agency):
    return make_agency(name="Own Agency")


@pytest.fixture
def other_agency(make_agency):
    return make_agency(name="Other Agency")


def signed_in(client, user):
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture(params=["superuser", "administrator", "staff_here_admin_there_reversed"])
def admin_client_of_agency(request, client, agency, other_agency):
    """Everyone who may change the agency's credential."""
    if request.param == "superuser":
        user = get_user_model().objects.create_superuser("root", password="pw")
    elif request.param == "administrator":
        user = make_staff_user(agency, role=Membership.Role.ADMIN)
    else:  # administrator here, staff in the other agency
        user = make_staff_user(other_agency)
        Membership.objects.create(user=user, agency=agency, role=Membership.Role.ADMIN)
    return signed_in(client, user)


def hold(agency, n):
    agency.credential.mark_status(CredentialStatus.FAILING, problems.CREDENTIAL_FAILING())
    return [make_booking(agency, status=Booking.Status.HELD) for _ in range(n)]


def test_the_state_comes_first_with_the_problem_in_words(admin_client_of_agency, agency):
    hold(agency, 1)

    page = admin_client_of_agency.get(change_url(agency.credential)).text

    state_at = page.index('class="credential-status failing"')
    assert state_at < page.index('name="base_url"')
    assert "Not sent: the agency&#x27;s broker-system credential is failing." in page
    assert 'formaction="' + connection_test_url(agency.credential) in page


def test_the_button_tests_the_connection_and_resumes_held_bookings(
    admin_client_of_agency, agency, sandbox
):
    sandbox.set_deal("deal-1", {"a": 1})
    from tests.factories import make_slot_viewing

    make_slot_viewing(agency, "deal-1", ["a"])
    held = hold(agency, 2)

    response = admin_client_of_agency.post(connection_test_url(agency.credential), follow=True)

    assert response.redirect_chain[-1][0] == change_url(agency.credential)
    assert messages_of(response) == [
        "Own Agency: Accepted: the broker system checked the login (HTTP 200). "
        "2 held bookings queued again."
    ]
    assert {Booking.objects.get(pk=b.pk).status for b in held} == {Booking.Status.QUEUED}


def test_a_refused_test_says_so_and_holds_on(admin_client_of_agency, agency, sandbox):
    sandbox.set_credential("sandbox", "another-password")

    response = admin_client_of_agency.post(connection_test_url(agency.credential), follow=True)

    assert messages_of(response) == ["Own Agency: Refused: the broker system answered HTTP 401."]
    agency.credential.refresh_from_db()
    assert agency.credential.status == CredentialStatus.FAILING


def new_details(credential):
    """The credential page's form, sent with a new user name and secret."""
    return {
        "base_url": credential.base_url,
        "username": "new-user",
        "secret": "new-secret",
        "mspecs_subscriber_id": credential.mspecs_subscriber_id,
        "vitec_reminder_minutes": 120,
    }


def test_saving_a_fixed_credential_says_how_many_held_bookings_it_resumed(
    admin_client_of_agency, agency
):
    hold(agency, 3)
    credential = agency.credential
    response = admin_client_of_agency.post(
        change_url(credential), new_details(credential), follow=True
    )

    assert "3 held bookings of Own Agency queued to be sent again." in messages_of(response)
    assert Booking.objects.filter(status=Booking.Status.QUEUED).count() == 3


def test_saving_with_nothing_held_says_nothing_about_resuming(admin_client_of_agency, agency):
    credential = agency.credential
    data = {
        "base_url": credential.base_url,
        "username": "sandbox",
        "secret": "",
        "vitec_reminder_minutes": 120,
    }

    response = admin_client_of_agency.post(change_url(credential), data, follow=True)

    assert not any("queued" in message for message in messages_of(response))


def test_staff_may_not_test_nor_see_the_button(client, agency, other_agency):
    staff = make_staff_user(agency)
    Membership.objects.create(user=staff, agency=other_agency, role=Membership.Role.ADMIN)
    signed_in(client, staff)

    page = client.get(change_url(agency.credential)).text
    response = client.post(connection_test_url(agency.credential))

    assert "formaction" not in page
    assert response.status_code == 403


def test_testing_refuses_get_and_other_agencies(admin_client_of_agency, agency, make_agency):
    foreign = make_agency(name="Foreign")

    assert admin_client_of_agency.get(connection_test_url(agency.credential)).status_code == 405
    if not get_user_model().objects.filter(is_superuser=True).exists():
        foreign_url = connection_test_url(foreign.credential)
        assert admin_client_of_agency.post(foreign_url).status_code == 404
    assert (
        admin_client_of_agency.post(
            "/admin/agencies/providercredential/x%00/test-connection/"
        ).status_code
        == 404
    )


def test_an_inconclusive_test_is_still_recorded_as_tested(admin_client_of_agency, agency, sandbox):
    sandbox.set_fault("status", status=503)

    response = admin_client_of_agency.post(connection_test_url(agency.credential), follow=True)

    agency.credential.refresh_from_db()
    assert agency.credential.status == CredentialStatus.UNTESTED  # a 503 proves nothing
    assert agency.credential.tested_at is not None
    assert "Connection tested at" in response.text
    assert messages_of(response)[0].startswith("Own Agency: Inconclusive: ")


def failing_and_tested(agency):
    """A credential refused by its last test, at a known time."""
    hold(agency, 0)
    agency.credential.tested_at = timezone.now() - timedelta(hours=1)
    agency.credential.save(update_fields=["tested_at"])
    return agency.credential


def test_changing_a_failing_credential_forgets_the_test_of_its_old_details(
    admin_client_of_agency, agency
):
    credential = failing_and_tested(agency)
    admin_client_of_agency.post(change_url(credential), new_details(credential))
    page = admin_client_of_agency.get(change_url(credential)).text

    credential.refresh_from_db()
    assert credential.status == CredentialStatus.UNTESTED
    assert in_english(credential.status_problem) == "Changed after failing; not tested yet."
    assert credential.tested_at is None
    assert "Changed after failing; not tested yet." in page


def test_an_inconclusive_test_of_a_changed_credential_no_longer_says_not_tested_yet(
    admin_client_of_agency, agency, sandbox
):
    credential = failing_and_tested(agency)
    credential.username = "new-user"
    save_credential(credential)
    sandbox.set_fault("status", status=503)

    page = admin_client_of_agency.post(connection_test_url(credential), follow=True).text

    credential.refresh_from_db()
    assert credential.status == CredentialStatus.UNTESTED  # a 503 proves nothing
    assert credential.tested_at is not None
    assert in_english(credential.status_problem).startswith("Inconclusive: ")
    assert "not tested yet" not in page
