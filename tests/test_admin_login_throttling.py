"""Admin sign-in is throttled per user name and address, and per address (django-axes),
through the real admin login form; never per user name alone, which would let anyone keep
anyone else out."""

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.urls import reverse

from agencies.models import Membership
from tests.factories import ROLES, make_agency, make_staff_user, make_user_in_role

LOGIN = reverse("admin:login")
ATTEMPTS = reverse("admin:axes_accessattempt_changelist")
LOCKED_OUT_EN = "Too many failed sign-ins for this account or from this address."
LOCKED_OUT_SV = "För många misslyckade inloggningar för det här kontot eller från den här adressen."


def sign_in(client, username, password, address="192.0.2.10", **headers):
    return client.post(
        LOGIN,
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
        **headers,
    )


def fail_five_times(client, username, addresses=("192.0.2.10",) * 5):
    return [sign_in(client, username, "wrong", address).status_code for address in addresses]


@pytest.fixture
def staff_user(db):
    return make_staff_user(make_agency(), username="greta")


@pytest.mark.django_db
def test_fewer_failures_than_the_limit_leave_the_account_open(client, staff_user):
    fail_five_times(client, "greta", addresses=["192.0.2.10"] * 4)

    response = sign_in(client, "greta", "pw")

    assert response.status_code == 302
    assert response.url == "/admin/"


@pytest.mark.django_db
def test_a_successful_sign_in_clears_the_failure_count(client, staff_user):
    fail_five_times(client, "greta", addresses=["192.0.2.10"] * 4)
    sign_in(client, "greta", "pw")
    client.logout()
    fail_five_times(client, "greta", addresses=["192.0.2.10"] * 4)

    assert sign_in(client, "greta", "pw").status_code == 302


@pytest.mark.django_db
def test_the_fifth_failure_answers_with_the_lockout(client, staff_user):
    assert fail_five_times(client, "greta") == [200, 200, 200, 200, 429]


@pytest.mark.django_db
def test_five_failures_lock_the_account_even_against_the_right_password(client, staff_user):
    fail_five_times(client, "greta")

    response = sign_in(client, "greta", "pw")

    assert response.status_code == 429
    assert client.get("/admin/").status_code == 302  # still not signed in


@pytest.mark.django_db
def test_five_failures_for_a_name_lock_that_name_only_from_that_address(client, staff_user):
    fail_five_times(client, "greta", addresses=["192.0.2.66"] * 5)

    assert sign_in(client, "greta", "pw", address="198.51.100.7").status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_someone_elses_guesses_never_lock_a_user_out(client, role):
    user = make_user_in_role(role, make_agency())
    # Five guesses, then one more every cool-off: the lock stays with the guesser.
    fail_five_times(client, user.username, addresses=["203.0.113.66"] * 6)

    assert sign_in(client, user.username, "pw", address="198.51.100.7").status_code == 302


@pytest.mark.django_db
def test_failures_for_one_name_spread_over_addresses_lock_none_of_them(client, staff_user):
    fail_five_times(client, "greta", addresses=[f"192.0.2.{n}" for n in range(1, 6)])

    assert sign_in(client, "greta", "pw", address="192.0.2.1").status_code == 302


@pytest.mark.django_db
def test_five_failures_from_one_address_lock_that_address_for_every_account(client, staff_user):
    for username in ["anna", "bo", "cecilia", "david", "erik"]:
        sign_in(client, username, "wrong", address="192.0.2.66")

    assert sign_in(client, "greta", "pw", address="192.0.2.66").status_code == 429
    assert sign_in(client, "greta", "pw", address="198.51.100.7").status_code == 302


@pytest.mark.django_db
def test_the_lockout_message_is_in_swedish_by_default(client, staff_user):
    fail_five_times(client, "greta")

    page = sign_in(client, "greta", "pw").content.decode()

    assert LOCKED_OUT_SV in page
    assert 'name="password"' not in page


@pytest.mark.django_db
def test_the_lockout_message_is_in_the_users_language(client, staff_user):
    fail_five_times(client, "greta")

    page = sign_in(client, "greta", "pw", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert LOCKED_OUT_EN in page


@pytest.mark.django_db
def test_a_superuser_unlocks_an_account_by_deleting_its_access_attempts(
    client, admin_client, staff_user
):
    fail_five_times(client, "greta")
    attempts = AccessAttempt.objects.filter(username="greta")

    response = admin_client.post(
        ATTEMPTS,
        {
            "action": "delete_selected",
            "_selected_action": [attempt.pk for attempt in attempts],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert sign_in(client, "greta", "pw").status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize(
    "roles",
    [
        [Membership.Role.STAFF],
        [Membership.Role.ADMIN],
        [Membership.Role.STAFF, Membership.Role.ADMIN],
    ],
    ids=["staff", "agency-administrator", "staff-in-one-administrator-in-another"],
)
def test_only_a_superuser_sees_and_unlocks_access_attempts(client, roles):
    user = make_staff_user()
    for role in roles:
        Membership.objects.create(user=user, agency=make_agency(), role=role)
    fail_five_times(client, "greta")
    client.force_login(user)

    assert client.get(ATTEMPTS).status_code == 403
    response = client.post(
        ATTEMPTS,
        {
            "action": "delete_selected",
            "_selected_action": list(AccessAttempt.objects.values_list("pk", flat=True)),
            "post": "yes",
        },
    )
    assert response.status_code == 403
    assert AccessAttempt.objects.filter(username="greta").exists()


@pytest.mark.django_db
def test_axes_reset_username_unlocks_a_name_from_every_address(client, staff_user):
    fail_five_times(client, "greta")

    call_command("axes_reset_username", "greta")

    assert sign_in(client, "greta", "pw").status_code == 302


@pytest.mark.django_db
def test_axes_reset_ip_unlocks_an_address(client, staff_user):
    for username in ["anna", "bo", "cecilia", "david", "erik"]:
        sign_in(client, username, "wrong", address="192.0.2.66")

    call_command("axes_reset_ip", "192.0.2.66")

    assert sign_in(client, "greta", "pw", address="192.0.2.66").status_code == 302
