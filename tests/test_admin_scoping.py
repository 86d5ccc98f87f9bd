"""Every admin page shows a user only their own agencies' data."""

import pytest
from django.urls import reverse

from agencies.models import Membership
from bookings.models import Booking
from tests.factories import make_agency, make_booking, make_slot, make_staff_user, make_viewing


@pytest.fixture
def own_agency(db):
    return make_agency(name="Own Agency")


@pytest.fixture
def other_agency(db):
    return make_agency(name="Other Agency")


@pytest.fixture
def staff_client(client, own_agency):
    client.force_login(make_staff_user(own_agency))
    return client


@pytest.fixture
def own_booking(own_agency):
    return make_booking(make_viewing(own_agency, title="Own street 1"), email="own@example.se")


@pytest.fixture
def other_booking(other_agency):
    return make_booking(make_viewing(other_agency, title="Other street 9"), email="other@x.se")


def test_booking_list_shows_only_the_users_agencies(staff_client, own_booking, other_booking):
    response = staff_client.get(reverse("admin:bookings_booking_changelist"))

    assert response.status_code == 200
    assert "own@example.se" in response.text
    assert "other@x.se" not in response.text


def test_superuser_sees_every_agency(admin_client, own_booking, other_booking):
    response = admin_client.get(reverse("admin:bookings_booking_changelist"))

    assert "own@example.se" in response.text
    assert "other@x.se" in response.text


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:bookings_booking_change",
        "admin:bookings_booking_delete",
        "admin:bookings_booking_history",
    ],
)
def test_another_agencys_booking_by_url_is_not_found(staff_client, other_booking, url_name):
    response = staff_client.get(reverse(url_name, args=[other_booking.pk]))

    assert response.status_code == 404


def test_another_agencys_credential_by_url_is_not_found(client, own_agency, other_agency):
    client.force_login(make_staff_user(own_agency, role=Membership.Role.ADMIN))
    url = reverse("admin:agencies_providercredential_change", args=[other_agency.credential.pk])

    assert client.get(url).status_code == 404


def test_actions_ignore_objects_of_other_agencies(staff_client, own_booking, other_booking):
    staff_client.post(
        reverse("admin:bookings_booking_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [own_booking.pk, other_booking.pk],
            "post": "yes",
        },
    )

    assert list(Booking.objects.all()) == [other_booking]


def test_autocomplete_offers_only_the_users_viewings(staff_client, own_booking, other_booking):
    response = staff_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "bookings", "model_name": "booking", "field_name": "viewing", "term": ""},
    )

    titles = [result["text"] for result in response.json()["results"]]
    assert len(titles) == 1
    assert titles[0].startswith("Own street 1")


def test_add_form_offers_only_the_users_slots(staff_client, own_agency, other_agency):
    make_slot(
        make_viewing(own_agency, title="Own slots", viewing_type="ENUMS_VIEWINGS_TYPE_TIME_SLOTS")
    )
    make_slot(
        make_viewing(
            other_agency, title="Other slots", viewing_type="ENUMS_VIEWINGS_TYPE_TIME_SLOTS"
        )
    )

    response = staff_client.get(reverse("admin:bookings_booking_add"))

    assert "Own slots" in response.text
    assert "Other slots" not in response.text


def test_staff_cannot_change_their_agencys_credentials(staff_client, own_agency):
    url = reverse("admin:agencies_providercredential_change", args=[own_agency.credential.pk])

    response = staff_client.post(url, {"base_url": "http://evil.example"})

    assert response.status_code == 403


def test_a_user_without_membership_sees_no_agency_data(client, own_booking):
    client.force_login(make_staff_user())

    response = client.get(reverse("admin:bookings_booking_changelist"))

    assert response.status_code == 403


def test_list_filters_offer_only_the_users_agencies(client, own_booking, other_booking):
    second_agency = make_agency(name="Second Own Agency")
    make_booking(make_viewing(second_agency))
    client.force_login(make_staff_user(own_booking.agency, second_agency))

    response = client.get(reverse("admin:bookings_booking_changelist"))

    assert "Second Own Agency" in response.text
    assert "Other Agency" not in response.text
