"""The provider credential in the admin: the secret is write-only and never shown,
is only sent where it was entered for, and testing the connection always answers."""

import logging

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.urls import reverse

from agencies.models import CredentialStatus, Membership, Provider, ProviderCredential
from bookings.models import Booking
from bookings.problems import delivery as problems
from tests.factories import make_agency, make_booking, make_slot, make_staff_user, make_viewing

pytestmark = pytest.mark.django_db

OWN_SECRET = "Own-Plaintext-Secret-4711"
OTHER_SECRET = "Other-Plaintext-Secret-0815"
CHANGELIST = "admin:agencies_providercredential_changelist"
ROLES = ["superuser", "administrator", "staff", "staff_here_administrator_there"]


def change_url(credential):
    return reverse("admin:agencies_providercredential_change", args=[credential.pk])


def form_data(credential, **changes):
    """What the change form posts for `credential` with the secret field left empty."""
    data = {
        "base_url": credential.base_url,
        "auth_scheme": credential.auth_scheme,
        "username": credential.username,
        "secret": "",
        "mspecs_subscriber_id": credential.mspecs_subscriber_id,
        "vitec_customer_id": credential.vitec_customer_id,
        "vitec_lead_source_id": credential.vitec_lead_source_id,
        "vitec_reminder_minutes": credential.vitec_reminder_minutes,
        "vitec_mail_confirmation": "on",
        "vitec_deadline_validation": "on",
        "vitec_booking_limit_validation": "on",
    }
    return {**data, **changes}


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def own_agency(db):
    return make_agency(Provider.VITEC, name="Own Agency")


@pytest.fixture
def other_agency(db):
    return make_agency(name="Other Agency")


@pytest.fixture
def secrets_set_in_the_admin(admin_client, own_agency, other_agency):
    """Both credentials got their secret through the admin form, so the admin log holds
    the changes."""
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the log stores English labels
    for agency, secret in [(own_agency, OWN_SECRET), (other_agency, OTHER_SECRET)]:
        response = admin_client.post(
            change_url(agency.credential), form_data(agency.credential, secret=secret)
        )
        assert response.status_code == 302
    return [own_agency.credential, other_agency.credential]


def sign_in(client, role, own_agency, other_agency):
    if role == "superuser":
        user = get_user_model().objects.create_superuser("root", password="pw")
    elif role == "administrator":
        user = make_staff_user(own_agency, role=Membership.Role.ADMIN)
    elif role == "staff":
        user = make_staff_user(own_agency)
    else:
        user = make_staff_user(own_agency)
        Membership.objects.create(user=user, agency=other_agency, role=Membership.Role.ADMIN)
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.mark.parametrize("role", ROLES)
def test_no_credential_page_shows_the_secret(
    client, role, own_agency, other_agency, secrets_set_in_the_admin
):
    sign_in(client, role, own_agency, other_agency)
    urls = [reverse(CHANGELIST)]
    for credential in secrets_set_in_the_admin:
        history_url = reverse("admin:agencies_providercredential_history", args=[credential.pk])
        urls += [change_url(credential), history_url]

    for url in urls:
        response = client.get(url)

        assert response.status_code in (200, 404), url
        assert OWN_SECRET not in response.text, url
        assert OTHER_SECRET not in response.text, url


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_its_own_agencys_credential_page(
    client, role, own_agency, other_agency, secrets_set_in_the_admin
):
    sign_in(client, role, own_agency, other_agency)

    response = client.get(change_url(own_agency.credential))

    assert response.status_code == 200
    assert "Set, last changed" in response.text


def test_the_read_only_page_shows_only_that_the_secret_is_set_and_when(
    client, own_agency, other_agency, secrets_set_in_the_admin
):
    sign_in(client, "staff", own_agency, other_agency)

    response = client.get(change_url(own_agency.credential))

    fields = response.context["adminform"].readonly_fields
    assert "secret" not in fields
    assert "secret_state" in fields
    assert "Set, last changed" in response.text


def test_the_admin_log_records_a_secret_change_without_the_secret(
    admin_client, own_agency, secrets_set_in_the_admin
):
    entry = LogEntry.objects.filter(object_id=str(own_agency.credential.pk)).get()

    assert "secret" in entry.get_change_message().lower()
    assert OWN_SECRET not in entry.change_message
    assert OWN_SECRET not in entry.object_repr


def test_saving_without_entering_a_secret_logs_no_secret_change(
    admin_client, own_agency, secrets_set_in_the_admin
):
    credential = own_agency.credential

    admin_client.post(change_url(credential), form_data(credential, vitec_lead_source_id="web"))

    entry = LogEntry.objects.filter(object_id=str(credential.pk)).latest("action_time")
    assert "secret" not in entry.get_change_message().lower()
    assert ProviderCredential.objects.get(pk=credential.pk).secret == OWN_SECRET


# --- the secret goes only where it was entered for ---------------------------------------


@pytest.fixture(params=["superuser", "administrator"])
def editor_client(request, client, own_agency, other_agency):
    return sign_in(client, request.param, own_agency, other_agency)


@pytest.mark.parametrize(
    "changes",
    [
        {"base_url": "https://attacker.example/api"},
        {"username": "someone-else"},
        {"vitec_customer_id": "another-customer"},
    ],
    ids=["base_url", "username", "vitec_customer_id"],
)
def test_changing_where_the_secret_goes_without_entering_it_is_refused(
    editor_client, own_agency, changes
):
    credential = own_agency.credential

    response = editor_client.post(change_url(credential), form_data(credential, **changes))

    assert response.status_code == 200
    assert "Enter the secret again" in " ".join(response.context["adminform"].form.errors["secret"])
    stored = ProviderCredential.objects.get(pk=credential.pk)
    assert (stored.base_url, stored.username, stored.vitec_customer_id) == (
        credential.base_url,
        credential.username,
        credential.vitec_customer_id,
    )


def test_changing_the_base_url_with_the_secret_entered_again_saves_both(editor_client, own_agency):
    credential = own_agency.credential

    response = editor_client.post(
        change_url(credential),
        form_data(credential, base_url="http://127.0.0.1:9/vitec", secret="sandbox-secret"),
    )

    assert response.status_code == 302
    stored = ProviderCredential.objects.get(pk=credential.pk)
    assert (stored.base_url, stored.secret) == ("http://127.0.0.1:9/vitec", "sandbox-secret")


def test_a_refused_form_does_not_echo_the_entered_secret(editor_client, own_agency):
    credential = own_agency.credential

    response = editor_client.post(
        change_url(credential),
        form_data(credential, secret=OWN_SECRET, vitec_reminder_minutes="soon"),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["vitec_reminder_minutes"]
    assert OWN_SECRET not in response.text


def test_changing_other_fields_keeps_the_stored_secret(editor_client, own_agency):
    credential = own_agency.credential
    changed_at = credential.secret_changed_at

    response = editor_client.post(
        change_url(credential), form_data(credential, vitec_reminder_minutes=30)
    )

    assert response.status_code == 302
    stored = ProviderCredential.objects.get(pk=credential.pk)
    assert (stored.vitec_reminder_minutes, stored.secret) == (30, "sandbox-secret")
    assert stored.secret_changed_at == changed_at


def test_adding_a_credential_still_needs_a_secret(admin_client):
    agency = make_agency(with_credential=False)

    response = admin_client.post(
        reverse("admin:agencies_providercredential_add"),
        {
            **form_data(ProviderCredential(base_url="http://127.0.0.1:9/api", username="u")),
            "agency": agency.pk,
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["secret"]
    assert not ProviderCredential.objects.filter(agency=agency).exists()


# --- the credential lifecycle ------------------------------------------------------------


@pytest.fixture
def held_booking(own_agency):
    """A booking held because the agency's credential was refused."""
    own_agency.credential.mark_status(
        CredentialStatus.FAILING, problems.CREDENTIAL_REFUSED(status=401)
    )
    viewing = make_viewing(own_agency)
    return make_booking(viewing, slot=make_slot(viewing), status=Booking.Status.HELD)


@pytest.mark.parametrize("role", ROLES)
def test_correcting_a_failing_secret_in_the_admin_resumes_held_bookings_for_editors_only(
    client, role, own_agency, other_agency, held_booking, django_capture_on_commit_callbacks
):
    sign_in(client, role, own_agency, other_agency)
    credential = ProviderCredential.objects.get(pk=own_agency.credential.pk)

    with django_capture_on_commit_callbacks():
        response = client.post(change_url(credential), form_data(credential, secret="fixed"))

    credential.refresh_from_db()
    held_booking.refresh_from_db()
    if role in ("superuser", "administrator"):
        assert response.status_code == 302
        assert credential.status == CredentialStatus.UNTESTED
        assert held_booking.status == Booking.Status.QUEUED
    else:
        assert response.status_code == 403
        assert credential.status == CredentialStatus.FAILING
        assert held_booking.status == Booking.Status.HELD


def test_saving_a_failing_credential_unchanged_in_the_admin_keeps_bookings_held(
    admin_client, own_agency, held_booking
):
    credential = ProviderCredential.objects.get(pk=own_agency.credential.pk)

    response = admin_client.post(change_url(credential), form_data(credential))

    assert response.status_code == 302
    held_booking.refresh_from_db()
    assert held_booking.status == Booking.Status.HELD


# --- Test connection always answers -----------------------------------------------------


def run_test_connection(client, credential):
    return client.post(
        reverse(CHANGELIST),
        {"action": "test_connection", "_selected_action": [credential.pk]},
        follow=True,
    )


def test_a_connection_test_that_breaks_answers_with_a_message_not_a_server_error(
    editor_client, own_agency, settings
):
    settings.BROKER_READ_TIMEOUT = "not a number"  # the HTTP library raises ValueError

    response = run_test_connection(editor_client, own_agency.credential)

    assert response.status_code == 200
    assert any("could not be tested" in message for message in messages_of(response))


def test_a_connection_test_that_breaks_is_logged_without_the_secret(
    editor_client, own_agency, settings, caplog
):
    # An error whose message quotes the secret: "Invalid timeout (5.0, 'sandbox-secret')".
    settings.BROKER_READ_TIMEOUT = "sandbox-secret"

    with caplog.at_level(logging.ERROR, logger="bookings.delivery.admin"):
        run_test_connection(editor_client, own_agency.credential)

    assert "ValueError" in caplog.text
    assert "sandbox-secret" not in caplog.text


def test_a_secret_outside_latin1_never_makes_test_connection_a_server_error(
    editor_client, own_agency
):
    credential = own_agency.credential
    credential.secret = "pässwörd-€-Ł"
    credential.save()

    response = run_test_connection(editor_client, credential)

    assert response.status_code == 200
    assert messages_of(response)
