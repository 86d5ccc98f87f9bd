"""An agency's administrator may shorten the booking retention, never lengthen it beyond
the operator's BOOKING_RETENTION_DAYS; staff may not change it at all."""

import pytest
from django.urls import reverse

from agencies.models import Membership
from tests.factories import make_agency, make_staff_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def operator_maximum(settings):
    settings.BOOKING_RETENTION_DAYS = 90


def change_retention(client, agency, days):
    data = {
        "name": agency.name,
        "slug": agency.slug,
        "provider": agency.provider,
        "phone_region": agency.phone_region,
        "is_active": "on",
        "booking_retention_days": days,
    }
    return client.post(reverse("admin:agencies_agency_change", args=[agency.pk]), data)


def retention_of(agency):
    agency.refresh_from_db()
    return agency.booking_retention_days


def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def agency():
    return make_agency(name="Agency A")


@pytest.fixture
def administrator(client, agency):
    return logged_in(client, make_staff_user(agency, role=Membership.Role.ADMIN))


@pytest.mark.parametrize("days", [1, 30, 90])
def test_an_administrator_may_shorten_the_retention(administrator, agency, days):
    response = change_retention(administrator, agency, days)

    assert response.status_code == 302
    assert retention_of(agency) == days
    assert agency.booking_retention.days == days


def test_an_administrator_may_not_lengthen_it_beyond_the_operators(administrator, agency):
    response = change_retention(administrator, agency, 91)

    assert response.status_code == 200
    assert "booking_retention_days" in response.context["adminform"].form.errors
    assert retention_of(agency) is None


def test_empty_means_the_operators_period(administrator, agency):
    change_retention(administrator, agency, "")

    assert retention_of(agency) is None
    assert agency.booking_retention.days == 90


@pytest.mark.parametrize("days", ["0", "-5", "abc", "9" * 30, "3\x00"])
def test_a_hostile_value_is_a_field_error_and_changes_nothing(administrator, agency, days):
    response = change_retention(administrator, agency, days)

    assert response.status_code == 200
    assert "booking_retention_days" in response.context["adminform"].form.errors
    assert retention_of(agency) is None


def test_a_superuser_is_held_to_the_operators_maximum_too(admin_client, agency):
    assert change_retention(admin_client, agency, 120).status_code == 200
    assert change_retention(admin_client, agency, 60).status_code == 302
    assert retention_of(agency) == 60


def test_staff_may_not_change_the_retention(client, agency):
    logged_in(client, make_staff_user(agency))

    response = change_retention(client, agency, 7)

    assert response.status_code == 403
    assert retention_of(agency) is None


def test_an_administrator_elsewhere_may_not_change_it_where_they_are_staff(client, agency):
    other = make_agency(name="Agency B")
    user = make_staff_user(other, role=Membership.Role.ADMIN)
    Membership.objects.create(user=user, agency=agency, role=Membership.Role.STAFF)
    logged_in(client, user)

    assert change_retention(client, agency, 7).status_code == 403
    assert change_retention(client, other, 7).status_code == 302
    assert (retention_of(agency), retention_of(other)) == (None, 7)
