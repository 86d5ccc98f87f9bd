"""The booking list in the admin: status first in six columns, accent-insensitive search,
date filters and a bounded count, the same for every role and only over the user's own
agencies."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from agencies.models import Membership
from bookings import pagination
from bookings.delivery.credentials import resume_held
from bookings.models import Booking
from bookings.search import without_accents
from tests.factories import make_booking, make_mixed_user, make_slot, make_staff_user, make_viewing

BOOKINGS = reverse("admin:bookings_booking_changelist")


ROLES = {
    "superuser": lambda own, second, django_user_model: django_user_model.objects.create_superuser(
        "root", password="pw"
    ),
    "administrator": lambda own, second, _: make_staff_user(own, role=Membership.Role.ADMIN),
    "staff": lambda own, second, _: make_staff_user(own),
    "staff here, administrator there": lambda own, second, _: make_mixed_user(own, second),
}


@pytest.fixture(params=ROLES)
def role_client(request, client, own, second, django_user_model):
    """A client signed in as each role in turn; every role works on `own`."""
    client.force_login(ROLES[request.param](own, second, django_user_model))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.role = request.param
    return client


def listed_emails(response) -> set[str]:
    assert response.status_code == 200
    return {booking.email for booking in response.context["cl"].result_list}


def test_status_comes_first_in_four_columns(role_client, own):
    make_booking(make_viewing(own), status=Booking.Status.RETRYING)

    response = role_client.get(BOOKINGS)
    headers = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', response.text)

    assert headers == [
        "coloured_status",
        "buyer",
        "viewing_and_time",
        "received",
    ]


def test_the_status_says_how_many_attempts_and_when_a_retry_is_next(role_client, own):
    make_booking(
        make_viewing(own),
        status=Booking.Status.RETRYING,
        attempt_count=3,
        next_attempt_at=timezone.now() + timedelta(minutes=10),
    )

    assert "3 attempts, next " in role_client.get(BOOKINGS).text


def test_the_status_counts_every_attempt_not_only_those_since_the_booking_was_resumed(
    role_client, own
):
    booking = make_booking(make_viewing(own), status=Booking.Status.HELD)
    for _ in range(2):
        booking.attempts.create(endpoint="POST /bookings", outcome="retry")
    Booking.objects.filter(pk=booking.pk).update(attempt_count=2)
    resume_held(own)

    assert "2 attempts" in role_client.get(BOOKINGS).text


def test_the_viewing_column_shows_the_slots_time(role_client, own):
    viewing = make_viewing(own, title="Storgatan 9")
    slot = make_slot(viewing, starts_at=timezone.now() + timedelta(days=5, hours=3))
    make_booking(viewing, slot)

    page = role_client.get(BOOKINGS).text

    assert "Storgatan 9" in page
    assert timezone.localtime(slot.starts_at).strftime("%Y-%m-%d %H:%M") in page


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("Björn", "bjorn"),
        ("Björn", "Björn"),
        ("Bjorn", "björn"),
        ("Åsa", "asa"),
        ("Søren", "soren"),
        ("Zoë", "ZOE"),
    ],
)
def test_search_finds_names_whatever_their_accents(role_client, own, stored, typed):
    make_booking(make_viewing(own), first_name=stored, email="found@example.se")
    make_booking(make_viewing(own), first_name="Erik", email="not-found@example.se")

    assert listed_emails(role_client.get(BOOKINGS, {"q": typed})) == {"found@example.se"}


def test_search_finds_a_viewing_by_its_title(role_client, own):
    make_booking(make_viewing(own, title="Östra Ågatan 3"), email="found@example.se")
    make_booking(make_viewing(own, title="Storgatan 1"), email="not-found@example.se")

    assert listed_emails(role_client.get(BOOKINGS, {"q": "ostra agatan"})) == {"found@example.se"}


def test_search_never_reaches_another_agencys_bookings(role_client, own, other):
    make_booking(make_viewing(own), first_name="Björn", email="own@example.se")
    make_booking(make_viewing(other), first_name="Björn", email="other@example.se")

    found = listed_emails(role_client.get(BOOKINGS, {"q": "bjorn"}))

    expected = (
        {"own@example.se", "other@example.se"}
        if role_client.role == "superuser"
        else {"own@example.se"}
    )
    assert found == expected


@pytest.mark.parametrize("term", ["%", "_", "\\", "'; DROP TABLE bookings_booking; --", "x" * 5000])
def test_hostile_search_terms_match_literally_and_find_nothing(role_client, own, term):
    make_booking(make_viewing(own), first_name="Anna", email="anna@example.se")

    assert listed_emails(role_client.get(BOOKINGS, {"q": term})) == set()
    assert Booking.objects.count() == 1


def test_without_accents_matches_postgresqls_unaccent_for_nordic_letters():
    assert without_accents("Björn Øster Ærø Åsa Łódź Straße Zoë") == (
        "Bjorn Oster AEro Asa Lodz Strasse Zoe"
    )
    assert without_accents(None) is None


def test_the_created_date_filter_shows_todays_bookings(role_client, own):
    viewing = make_viewing(own)
    make_booking(viewing, email="today@example.se")
    old = make_booking(viewing, email="old@example.se")
    Booking.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    today = timezone.localdate()

    response = role_client.get(
        BOOKINGS,
        {"created_at__gte": str(today), "created_at__lt": str(today + timedelta(days=1))},
    )

    assert listed_emails(response) == {"today@example.se"}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("next_7_days", {"tomorrow@example.se"}),
        ("upcoming", {"tomorrow@example.se", "later@example.se"}),
        ("past", {"past@example.se"}),
    ],
)
def test_the_viewing_time_filter_uses_the_slots_time(role_client, own, choice, expected):
    viewing = make_viewing(own, starts_at=timezone.now() - timedelta(days=1))
    now = timezone.now()
    for email, starts_at in [
        ("tomorrow@example.se", now + timedelta(days=1)),
        ("later@example.se", now + timedelta(days=20)),
        ("past@example.se", now - timedelta(hours=20)),
    ]:
        make_booking(viewing, make_slot(viewing, starts_at=starts_at), email=email)

    assert listed_emails(role_client.get(BOOKINGS, {"viewing_time": choice})) == expected


def test_an_unknown_viewing_time_choice_filters_nothing(role_client, own):
    make_booking(make_viewing(own), email="any@example.se")

    assert listed_emails(role_client.get(BOOKINGS, {"viewing_time": "\x7fbogus"})) == {
        "any@example.se"
    }


def test_the_agency_filter_offers_the_users_agencies_without_scanning_bookings(
    role_client, own, second, other
):
    page = role_client.get(BOOKINGS).text

    # A user of one agency gets no agency filter at all (Django hides a single choice).
    assert ("Second Agency" in page) == (
        role_client.role in ("superuser", "staff here, administrator there")
    )
    assert ("Other Agency" in page) == (role_client.role == "superuser")


@pytest.mark.parametrize(
    ("bookings", "said"), [(5, "more than 3 bookings"), (3, "\n3 bookings"), (1, "\n1 booking\n")]
)
def test_the_list_counts_exactly_up_to_the_limit_then_says_more_than(
    role_client, own, monkeypatch, bookings, said
):
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 3)
    viewing = make_viewing(own)
    for _ in range(bookings):
        make_booking(viewing)

    response = role_client.get(BOOKINGS)

    assert said in response.text
    assert len(response.context["cl"].result_list) == bookings


def test_select_all_across_pages_says_more_than_a_bounded_count(role_client, own, monkeypatch):
    from bookings.admin import BookingAdmin

    monkeypatch.setattr(pagination, "COUNT_LIMIT", 3)
    monkeypatch.setattr(BookingAdmin, "list_per_page", 2)
    viewing = make_viewing(own)
    for _ in range(5):
        make_booking(viewing)

    page = role_client.get(BOOKINGS).text

    assert "Select all bookings (more than 3)" in page
    assert "All selected (more than 3)" in page
    assert "Select all 4" not in page
