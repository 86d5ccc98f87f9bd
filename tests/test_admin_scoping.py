"""Every admin page shows a user only their own agencies' data."""

import pytest
from django.urls import reverse

from agencies.models import ApiKey, Membership
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


@pytest.fixture
def admin_of_other_staff_of_own(client, own_agency, other_agency):
    """Staff of one agency and administrator of another: administers only the other."""
    user = make_staff_user(own_agency)
    Membership.objects.create(user=user, agency=other_agency, role=Membership.Role.ADMIN)
    client.force_login(user)
    return client


def test_administering_one_agency_does_not_administer_another(
    admin_of_other_staff_of_own, own_agency
):
    response = admin_of_other_staff_of_own.get(reverse("admin:agencies_apikey_add"))

    agencies = [label for _, label in response.context["adminform"].form["agency"].field.choices]
    assert "Other Agency" in agencies
    assert "Own Agency" not in agencies


def test_key_actions_skip_agencies_the_user_does_not_administer(
    admin_of_other_staff_of_own, own_agency
):
    key, _ = ApiKey.issue(own_agency, "Website")

    admin_of_other_staff_of_own.post(
        reverse("admin:agencies_apikey_changelist"),
        {"action": "revoke_keys", "_selected_action": [key.pk]},
    )

    key.refresh_from_db()
    assert key.revoked_at is None


def test_quarantine_decisions_offer_no_users_to_pick(staff_client):
    response = staff_client.get(reverse("admin:bookings_quarantinedecision_add"))

    assert "decided_by" not in response.context["adminform"].form.fields


def test_delivery_attempts_cannot_be_deleted(staff_client, own_booking):
    attempt = own_booking.attempts.create(endpoint="POST /x", outcome="delivered")

    response = staff_client.post(
        reverse("admin:bookings_deliveryattempt_delete", args=[attempt.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert own_booking.attempts.exists()


def test_members_see_and_edit_the_slots_of_their_viewings(client, own_agency):
    viewing = make_viewing(own_agency, viewing_type="ENUMS_VIEWINGS_TYPE_TIME_SLOTS")
    make_slot(viewing, provider_slot_id="slot-visible")
    client.force_login(make_staff_user(own_agency, role=Membership.Role.ADMIN))

    response = client.get(reverse("admin:bookings_viewing_change", args=[viewing.pk]))

    assert "slot-visible" in response.text
    assert response.context["inline_admin_formsets"][0].has_change_permission
