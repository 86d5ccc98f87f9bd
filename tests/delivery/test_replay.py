"""Re-send every failed or held booking of an agency received since a time: one confirmed
admin action with a count (bookings/delivery/staff_actions.replay). Whoever may re-send a single
booking may replay: any member of the agency, and superusers."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from agencies.models import Membership
from bookings.delivery import staff_actions
from bookings.models import Booking
from tests.factories import make_booking, make_staff_user

Status = Booking.Status
REPLAY = "admin:bookings_booking_replay"
ADMIN = Membership.Role.ADMIN


def since(hours_ago: float) -> str:
    return (timezone.localtime() - timedelta(hours=hours_ago)).strftime("%Y-%m-%d %H:%M:%S")


def made_hours_ago(booking, hours):
    Booking.objects.filter(pk=booking.pk).update(created_at=timezone.now() - timedelta(hours=hours))


@pytest.fixture
def agencies(make_agency):
    return make_agency(name="Alfa", slug="alfa"), make_agency(name="Beta", slug="beta")


@pytest.fixture
def outage(agencies):
    """Agency Alfa's bookings after an outage, and one of Beta's."""
    alfa, beta = agencies
    bookings = {
        "failed": make_booking(alfa, status=Status.FAILED),
        "held": make_booking(alfa, status=Status.HELD),
        "rejected": make_booking(alfa, status=Status.REJECTED),
        "delivered": make_booking(alfa, status=Status.DELIVERED),
        "cancelled": make_booking(alfa, status=Status.CANCELLED),
        "failed_before": make_booking(alfa, status=Status.FAILED),
        "beta_failed": make_booking(beta, status=Status.FAILED),
    }
    made_hours_ago(bookings["failed_before"], 10)
    return bookings


def statuses(bookings):
    return {name: Booking.objects.get(pk=b.pk).status for name, b in bookings.items()}


def signed_in(client, user):
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def superuser():
    return get_user_model().objects.create_superuser("root", "root@example.se", "pw")


def replay(client, agency, hours_ago=2, **extra):
    data = {"agency": agency.pk, "since": since(hours_ago), **extra}
    return client.post(reverse(REPLAY), data, follow=True)


@pytest.mark.django_db
def test_replay_resends_failed_and_held_bookings_of_the_agency_since_the_time(outage, agencies):
    result = staff_actions.replay(
        agencies[0], timezone.now() - timedelta(hours=2), make_staff_user()
    )

    assert result.message == "2 bookings queued to be sent again."
    assert statuses(outage) == {
        "failed": Status.QUEUED,
        "held": Status.QUEUED,
        "rejected": Status.REJECTED,
        "delivered": Status.DELIVERED,
        "cancelled": Status.CANCELLED,
        "failed_before": Status.FAILED,
        "beta_failed": Status.FAILED,
    }
    assert Booking.objects.get(pk=outage["failed"].pk).attempt_count == 0  # a fresh schedule


@pytest.mark.parametrize(
    "make_user",
    [
        pytest.param(lambda alfa, beta: superuser(), id="superuser"),
        pytest.param(lambda alfa, beta: make_staff_user(alfa, role=ADMIN), id="administrator"),
        pytest.param(lambda alfa, beta: make_staff_user(alfa), id="staff"),
        pytest.param(
            lambda alfa, beta: mixed_user(staff_in=alfa, admin_in=beta),
            id="staff-here-administrator-there",
        ),
    ],
)
@pytest.mark.django_db
def test_every_member_of_the_agency_may_replay_after_confirming_the_count(
    client, outage, agencies, make_user
):
    alfa, beta = agencies
    client = signed_in(client, make_user(alfa, beta))

    question = replay(client, alfa).content.decode()

    assert "Re-send 2 failed or held bookings of Alfa?" in question
    assert statuses(outage)["failed"] == Status.FAILED  # nothing before the confirmation

    response = replay(client, alfa, confirm="yes")

    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Alfa: 2 bookings queued to be sent again."
    ]
    assert statuses(outage)["failed"] == statuses(outage)["held"] == Status.QUEUED
    assert statuses(outage)["beta_failed"] == Status.FAILED


def mixed_user(*, staff_in, admin_in):
    user = make_staff_user(staff_in)
    Membership.objects.create(user=user, agency=admin_in, role=ADMIN)
    return user


@pytest.mark.django_db
def test_a_member_cannot_replay_another_agencys_bookings(client, outage, agencies):
    alfa, beta = agencies
    client = signed_in(client, make_staff_user(alfa, role=ADMIN))

    page = replay(client, beta, confirm="yes").content.decode()

    assert "Select a valid choice" in page
    assert statuses(outage)["beta_failed"] == Status.FAILED


@pytest.mark.django_db
def test_the_form_offers_only_the_users_agencies(client, agencies):
    client = signed_in(client, make_staff_user(agencies[0]))

    page = client.get(reverse(REPLAY)).content.decode()

    assert "Alfa" in page and "Beta" not in page


@pytest.mark.django_db
def test_a_staff_user_of_no_agency_is_refused(client, outage, agencies):
    client = signed_in(client, make_staff_user())

    response = client.post(reverse(REPLAY), {"agency": agencies[0].pk, "since": since(2)})

    assert response.status_code == 403
    assert statuses(outage)["failed"] == Status.FAILED


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_the_login(client):
    response = client.get(reverse(REPLAY))

    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("since", "2026-11-27\x0022:00"),
        ("since", "9" * 10_000),
        ("since", "yesterday"),
        ("since", ""),
        ("agency", "1\x00"),
        ("agency", "x" * 10_000),
        ("agency", "-1"),
        ("agency", "99999999999999999999999"),
    ],
    ids=[
        "nul-in-time",
        "too-long-time",
        "not-a-time",
        "no-time",
        "nul-in-agency",
        "too-long-agency",
        "negative-agency",
        "huge-agency",
    ],
)
@pytest.mark.django_db
def test_hostile_values_get_a_field_error_and_change_nothing(
    client, outage, agencies, field, value
):
    client = signed_in(client, superuser())
    data = {"agency": agencies[0].pk, "since": since(2), "confirm": "yes", field: value}

    response = client.post(reverse(REPLAY), data)

    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert statuses(outage)["failed"] == Status.FAILED


@pytest.mark.django_db
def test_nothing_to_replay_offers_no_confirmation(client, outage, agencies):
    client = signed_in(client, superuser())

    page = replay(client, agencies[0], hours_ago=-1).content.decode()  # since the future

    assert "Re-send 0 failed or held bookings of Alfa?" in page
    assert 'name="confirm"' not in page


@pytest.mark.django_db
def test_the_booking_list_links_to_the_replay_page(client, agencies):
    client = signed_in(client, make_staff_user(agencies[0]))

    page = client.get(reverse("admin:bookings_booking_changelist")).content.decode()

    assert reverse(REPLAY) in page
