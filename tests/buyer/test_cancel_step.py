"""Cancel asks once before it cancels (a page with one button, no JavaScript), and a buyer's
request to cancel a delivered booking reaches the agency's administrators in the alert
digest, not only the start page's count."""

import pytest
from django.core import mail
from django.urls import reverse

from agencies.alerts import send_due_digests
from agencies.models import Alert, AlertKind, Membership, Provider
from bookings.buyer.links import status_path, status_token
from bookings.models import Booking
from tests.factories import delivered_booking, make_booking, make_staff_user

Status = Booking.Status
pytestmark = pytest.mark.django_db


@pytest.fixture
def agency(make_agency):
    return make_agency(Provider.MSPECS, name="Mäklarhuset Uppsala")


def cancel_url(booking):
    return reverse("buyer-cancel", args=[status_token(booking)])


def test_the_status_page_links_to_the_cancel_step_instead_of_cancelling(agency, client):
    booking = make_booking(agency, language="en")

    page = client.get(status_path(booking)).content.decode()

    assert f'href="{cancel_url(booking)}"' in page
    assert f'action="{cancel_url(booking)}"' not in page


def test_the_cancel_step_asks_and_cancels_nothing(agency, client):
    booking = make_booking(agency, language="en")

    response = client.get(cancel_url(booking))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Cancel your booking?" in page
    assert "so it is cancelled at once" in page
    assert '<form method="post">' in page
    assert "Yes, cancel my booking" in page
    assert f'href="{status_path(booking)}"' in page  # No, keep my booking
    booking.refresh_from_db()
    assert booking.status == Status.QUEUED


def test_the_cancel_step_is_in_swedish_for_a_swedish_buyer(agency, client):
    booking = make_booking(agency, language="sv")

    page = client.get(cancel_url(booking)).content.decode()

    assert "Avboka din bokning?" in page
    assert "Ja, avboka" in page
    assert "Nej, behåll min bokning" in page


def test_the_cancel_step_of_a_delivered_booking_says_staff_are_asked(agency, client):
    booking = delivered_booking(agency, language="en")

    page = client.get(cancel_url(booking)).content.decode()

    assert "we ask Mäklarhuset Uppsala to remove you from the viewing there" in page


def test_confirming_the_step_cancels(agency, client):
    booking = make_booking(agency, language="en")

    response = client.post(cancel_url(booking))

    assert response["Location"] == status_path(booking)
    booking.refresh_from_db()
    assert booking.status == Status.CANCELLED


def test_the_cancel_step_of_a_booking_that_cannot_be_cancelled_goes_back_to_the_status_page(
    agency, client
):
    booking = make_booking(agency, status=Status.CANCELLED)

    response = client.get(cancel_url(booking))

    assert response.status_code == 302
    assert response["Location"] == status_path(booking)


def test_a_forged_cancel_step_is_not_found(agency, client):
    assert client.get(reverse("buyer-cancel", args=["1:forged"])).status_code == 404


# --- the agency's staff are told ------------------------------------------------------


def test_a_request_to_cancel_a_delivered_booking_is_alerted_to_the_agency(agency, client):
    booking = delivered_booking(agency)

    client.post(cancel_url(booking))

    [alert] = Alert.objects.filter(kind=AlertKind.CANCELLATION_REQUESTED)
    assert alert.agency == agency
    assert alert.subject == f"#{booking.pk} {booking.viewing}"
    assert alert.admin_path == reverse("admin:bookings_booking_change", args=[booking.pk])
    assert booking.email not in alert.subject  # the buyer is not in an alert


def test_the_digest_tells_the_agencys_administrators(agency, client):
    admin = make_staff_user(agency, role=Membership.Role.ADMIN)
    admin.email = "admin@maklarhuset.se"
    admin.save()
    Membership.objects.filter(user=admin).update(language="en")
    booking = delivered_booking(agency)
    client.post(cancel_url(booking))

    assert send_due_digests() == 1

    [digest] = mail.outbox
    assert digest.to == ["admin@maklarhuset.se"]
    assert "buyers asking to cancel" in digest.subject
    assert f"#{booking.pk}" in digest.body


def test_asking_twice_is_alerted_once(agency, client):
    booking = delivered_booking(agency)

    client.post(cancel_url(booking))
    client.post(cancel_url(booking))

    assert Alert.objects.filter(kind=AlertKind.CANCELLATION_REQUESTED).count() == 1


def test_a_booking_cancelled_outright_alerts_no_one(agency, client):
    booking = make_booking(agency)

    client.post(cancel_url(booking))

    assert not Alert.objects.exists()
