"""Staff act on bookings and credentials from the admin: thin over bookings.delivery."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from agencies.models import CredentialStatus, Provider
from bookings.models import Booking
from bookings.problems import delivery as problems
from tests.factories import make_booking, make_slot_viewing, make_staff_user

Status = Booking.Status
CHANGELIST = "admin:bookings_booking_changelist"


def run_action(client, action, bookings, **extra):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [b.pk for b in bookings], **extra},
        follow=True,
    )


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def agency(make_agency):
    return make_agency()


@pytest.fixture
def staff_client(client, agency):
    client.force_login(make_staff_user(agency))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # texts asserted in English
    return client


@pytest.mark.django_db
def test_an_action_on_several_bookings_asks_for_confirmation_first(staff_client, agency):
    bookings = [make_booking(agency, status=Status.FAILED) for _ in range(2)]

    response = run_action(staff_client, "resend", bookings)

    assert "Are you sure?" in response.content.decode()
    assert set(Booking.objects.values_list("status", flat=True)) == {Status.FAILED}


@pytest.mark.django_db
def test_a_confirmed_resend_reports_queued_and_skipped_counts(staff_client, agency):
    bookings = [make_booking(agency, status=Status.FAILED) for _ in range(2)]
    bookings.append(make_booking(agency, status=Status.DELIVERED))

    response = run_action(staff_client, "resend", bookings, post="yes")

    assert messages_of(response) == [
        "2 bookings queued to be sent again. 1 booking skipped: already delivered."
    ]
    assert Booking.objects.filter(status=Status.QUEUED).count() == 2


@pytest.mark.django_db
def test_an_action_on_one_booking_needs_no_confirmation(staff_client, agency):
    booking = make_booking(agency, status=Status.NEEDS_REVIEW)

    response = run_action(staff_client, "mark_delivered", [booking])

    assert messages_of(response) == ["1 booking marked as delivered."]
    booking.refresh_from_db()
    assert booking.status == Status.DELIVERED


@pytest.mark.django_db
def test_booking_list_shows_coloured_status_and_the_last_error(staff_client, agency):
    make_booking(agency, status=Status.REJECTED, last_problem=problems.SLOT_FULL())

    # Swedish is the default language; this reads the English label.
    page = staff_client.get(reverse(CHANGELIST), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert '<strong class="booking-status rejected">Rejected by broker system</strong>' in page
    assert "bookings/admin.css" in page
    assert "The slot is fully booked in the broker system." in page


@pytest.mark.django_db
def test_booking_page_lists_its_attempts_in_order(staff_client, agency, sandbox):
    from bookings.delivery.sending import deliver

    booking = make_booking(agency)
    sandbox.set_fault("status", status=500, count=1)
    deliver(booking.pk)
    Booking.objects.filter(pk=booking.pk).update(next_attempt_at=None)
    deliver(booking.pk)

    page = staff_client.get(reverse("admin:bookings_booking_change", args=[booking.pk]))

    content = page.content.decode()
    assert content.index("HTTP 500") < content.index("HTTP 200")


ACCEPTED = "Accepted: the broker system checked the login (HTTP 200)."


@pytest.mark.parametrize(
    ("system", "good_answer"),
    # Both read something only a good login may read (docs/mspecs.md, docs/vitec.md).
    [(Provider.MSPECS, ACCEPTED), (Provider.VITEC, ACCEPTED)],
)
@pytest.mark.django_db
def test_test_connection_action_reports_and_records_the_outcome(
    admin_client, make_agency, sandbox, system, good_answer
):
    good, bad = make_agency(system), make_agency(system, secret="wrong")
    sandbox.set_deal("deal-1", {"a1": 5})
    make_slot_viewing(good, "deal-1", ["a1"])  # MSPECS: a deal whose slot status proves it

    response = admin_client.post(
        reverse("admin:agencies_providercredential_changelist"),
        {"action": "test_connection", "_selected_action": [good.credential.pk, bad.credential.pk]},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert sorted(messages_of(response)) == sorted(
        [f"{good}: {good_answer}", f"{bad}: Refused: the broker system answered HTTP 401."]
    )
    bad.credential.refresh_from_db()
    assert bad.credential.status == CredentialStatus.FAILING
