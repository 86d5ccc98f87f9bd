"""The calendar file (bookings/buyer/calendar.py): CONFIRMED only once the provider has
confirmed the booking (delivered; where delivered buyers wait in a quarantine, approved
there), TENTATIVE before, CANCELLED after a cancel with the same UID and a higher
SEQUENCE; a file name that says what it is."""

import pytest
from django.urls import reverse
from icalendar import Calendar

from agencies.models import Provider
from bookings.buyer.links import status_path, status_token
from bookings.models import Booking, QuarantineDecision
from tests.factories import delivered_booking, make_booking

Status = Booking.Status
pytestmark = pytest.mark.django_db


@pytest.fixture
def mspecs(make_agency):
    return make_agency(Provider.MSPECS, name="Mäklarhuset Uppsala")


@pytest.fixture
def vitec(make_agency):
    return make_agency(Provider.VITEC, name="Mäklarhuset Göteborg")


def download(client, booking, language="en"):
    response = client.get(
        reverse("buyer-calendar", args=[status_token(booking)]), HTTP_ACCEPT_LANGUAGE=language
    )
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    [event] = Calendar.from_ical(response.content).walk("VEVENT")
    return response["Content-Disposition"], event


def status_and_sequence(event):
    return str(event["status"]), int(event["sequence"])


def approve(booking, decision=QuarantineDecision.Decision.APPROVED):
    QuarantineDecision.objects.create(
        viewing=booking.viewing, email=booking.email.lower(), decision=decision
    )


def test_a_booking_not_yet_delivered_is_tentative(mspecs, client):
    _, event = download(client, make_booking(mspecs))

    assert status_and_sequence(event) == ("TENTATIVE", 0)


def test_a_booking_delivered_to_a_provider_that_confirms_on_delivery_is_confirmed(vitec, client):
    _, event = download(client, delivered_booking(vitec))

    assert status_and_sequence(event) == ("CONFIRMED", 1)


def test_a_booking_delivered_into_a_quarantine_stays_tentative_until_a_broker_approves_it(
    mspecs, client
):
    booking = delivered_booking(mspecs, email="Anna@Example.se")

    _, before = download(client, booking)
    approve(booking)
    _, after = download(client, booking)

    assert status_and_sequence(before) == ("TENTATIVE", 0)
    assert status_and_sequence(after) == ("CONFIRMED", 1)
    assert after["uid"] == before["uid"]


def test_a_booking_a_broker_declined_is_not_confirmed(mspecs, client):
    booking = delivered_booking(mspecs)
    approve(booking, QuarantineDecision.Decision.DECLINED)

    _, event = download(client, booking)

    assert str(event["status"]) == "TENTATIVE"


def test_another_buyers_approval_does_not_confirm_this_booking(mspecs, client):
    booking = delivered_booking(mspecs, email="anna@example.se")
    approve(delivered_booking(booking.viewing, email="bo@example.se"))

    _, event = download(client, booking)

    assert str(event["status"]) == "TENTATIVE"


def test_a_cancelled_booking_cancels_the_same_event_with_a_higher_sequence(vitec, client):
    booking = delivered_booking(vitec)
    _, confirmed = download(client, booking)

    Booking.objects.filter(pk=booking.pk).update(status=Status.CANCELLED)
    _, cancelled = download(client, booking)

    assert cancelled["uid"] == confirmed["uid"]
    assert status_and_sequence(cancelled) == ("CANCELLED", 2)
    assert int(cancelled["sequence"]) > int(confirmed["sequence"])


def test_a_booking_whose_buyer_asked_to_cancel_cancels_the_event(vitec, client):
    booking = delivered_booking(vitec)
    client.post(reverse("buyer-cancel", args=[status_token(booking)]))

    booking.refresh_from_db()
    assert booking.cancellation_requested_at is not None
    _, event = download(client, booking)
    assert status_and_sequence(event) == ("CANCELLED", 2)


@pytest.mark.parametrize(
    "language, status, name",
    [
        ("en", Status.QUEUED, "viewing-storgatan-1-not-yet-confirmed.ics"),
        ("en", Status.DELIVERED, "viewing-storgatan-1-confirmed.ics"),
        ("en", Status.CANCELLED, "viewing-storgatan-1-cancelled.ics"),
        ("sv", Status.QUEUED, "visning-storgatan-1-annu-inte-bekraftad.ics"),
        ("sv", Status.DELIVERED, "visning-storgatan-1-bekraftad.ics"),
        ("sv", Status.CANCELLED, "visning-storgatan-1-avbokad.ics"),
    ],
)
def test_the_file_name_says_what_the_file_is_in_the_buyers_language(
    vitec, client, language, status, name
):
    booking = make_booking(vitec, status=status, language=language)

    disposition, _ = download(client, booking)

    assert disposition == f'attachment; filename="{name}"'


def test_a_hostile_title_makes_a_plain_file_name(vitec, client):
    booking = make_booking(vitec, language="en")
    booking.viewing.title = 'Villa "Sjöbris"\r\n../../etc; rm -rf /'
    booking.viewing.save()

    disposition, _ = download(client, booking)

    name = "viewing-villa-sjobris-etc-rm-rf-not-yet-confirmed.ics"
    assert disposition == f'attachment; filename="{name}"'


def test_the_status_page_offers_the_cancelling_file_after_a_cancel(vitec, client):
    booking = make_booking(vitec, language="en")
    client.post(reverse("buyer-cancel", args=[status_token(booking)]))

    page = client.get(status_path(booking)).content.decode()

    assert "Added it to your calendar? Remove it there (.ics)" in page
    assert "Add to my calendar (.ics)" not in page
