"""The buyer's private status page (bookings/buyer/): signed link, the state in words that
promise nothing the provider has not done, the .ics file and "cancel my booking"."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from agencies.models import Provider
from bookings.buyer.links import status_path, status_token
from bookings.delivery.sending import claim, deliver
from bookings.models import Booking, Viewing
from tests.factories import delivered_booking, make_booking, make_staff_user

Status = Booking.Status
pytestmark = pytest.mark.django_db


@pytest.fixture
def agency(make_agency):
    return make_agency(Provider.MSPECS, name="Mäklarhuset Uppsala")


def page(client, booking, **headers):
    return client.get(status_path(booking), **headers).content.decode()


def ics_of(client, booking) -> Calendar:
    response = client.get(reverse("buyer-calendar", args=[status_token(booking)]))
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    return Calendar.from_ical(response.content)


def cancel(client, booking):
    return client.post(reverse("buyer-cancel", args=[status_token(booking)]))


# --- what the page says ----------------------------------------------------------------


def test_a_waiting_mspecs_booking_says_received_and_promises_no_email_yet(agency, client):
    booking = make_booking(agency, language="en", email="anna@example.se")

    text = page(client, booking)

    assert "Your booking is received" in text
    assert "Once it is there, that system emails you (anna@example.se)" in text
    assert "Until then, nothing is confirmed." in text
    assert "Mäklarhuset Uppsala" in text


@pytest.mark.parametrize("status", [Status.SENDING, Status.RETRYING, Status.HELD])
def test_a_booking_held_or_retrying_is_still_only_received(agency, client, status):
    booking = make_booking(agency, language="en", status=status)

    assert "Your booking is received" in page(client, booking)


def test_a_delivered_mspecs_booking_says_the_agencys_system_emails_to_confirm(agency, client):
    booking = delivered_booking(agency, language="en", email="anna@example.se")

    text = page(client, booking)

    assert "Your booking has reached the agency" in text
    assert "emails you (anna@example.se) asking you to confirm your booking" in text


@pytest.mark.parametrize(
    ("mail", "sms", "expected"),
    [
        (True, False, "confirms it to you by email (anna@example.se)."),
        (False, True, "confirms it to you by text message."),
        (True, True, "confirms it to you by email and by text message."),
        (False, False, "will contact you if anything changes."),
    ],
)
def test_a_delivered_vitec_booking_names_the_confirmations_the_agency_turned_on(
    make_agency, client, mail, sms, expected
):
    agency = make_agency(Provider.VITEC, vitec_mail_confirmation=mail, vitec_sms_confirmation=sms)
    booking = delivered_booking(agency, time_slots=True, language="en", email="anna@example.se")

    assert expected in page(client, booking)


@pytest.mark.parametrize("status", [Status.REJECTED, Status.FAILED])
def test_a_booking_that_did_not_go_through_says_so_and_offers_another_time(agency, client, status):
    booking = make_booking(agency, language="en", status=status)

    text = page(client, booking)

    assert "Your booking could not be registered" in text
    assert f'href="/book/{booking.viewing.public_id}/"' in text


def test_the_page_is_in_the_language_the_buyer_booked_in(agency, client):
    booking = make_booking(agency, language="sv")

    assert "Din bokning är mottagen" in page(client, booking, HTTP_ACCEPT_LANGUAGE="en")


def test_the_language_switch_wins_over_the_booking_language(agency, client):
    booking = make_booking(agency, language="sv")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    assert "Your booking is received" in page(client, booking)


@pytest.mark.parametrize(
    "token", ["1:forged", "MQ", "x" * 5000, "%00", status_token(Booking(pk=987654))]
)
def test_a_forged_or_unknown_link_is_a_friendly_404(client, token, agency):
    response = client.get(f"/booking/{token}/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 404
    assert "We do not know this link" in response.content.decode()


def test_a_link_signed_for_something_else_does_not_open_a_booking(agency, client):
    from django.core import signing

    booking = make_booking(agency)
    token = signing.dumps(booking.pk)  # same key, no salt

    assert client.get(reverse("buyer-status", args=[token])).status_code == 404


def test_the_privacy_policy_is_linked_when_the_agency_has_one(agency, client):
    agency.privacy_policy_url = "https://maklarhuset.example.se/integritet"
    agency.save()

    assert 'href="https://maklarhuset.example.se/integritet"' in page(client, make_booking(agency))


# --- the calendar file -----------------------------------------------------------------


def test_the_calendar_file_holds_the_booked_slot(agency, client):
    booking = make_booking(agency, time_slots=True, slot_id="slot-1", language="en")
    booking.viewing.title = "Storgatan 1, 3 rok; balkong"
    booking.viewing.address = "Storgatan 1, Uppsala"
    booking.viewing.save()

    [event] = ics_of(client, booking).walk("VEVENT")

    # iCalendar times are to the second.
    assert event.decoded("dtstart") == booking.slot.starts_at.replace(microsecond=0)
    assert event.decoded("dtend") == booking.slot.ends_at.replace(microsecond=0)
    assert str(event["summary"]) == "Viewing: Storgatan 1, 3 rok; balkong"
    assert str(event["location"]) == "Storgatan 1, Uppsala"
    assert str(event["status"]) == "TENTATIVE"
    assert status_path(booking) in str(event["url"])


def test_the_calendar_file_of_an_unknown_link_is_not_found(client, agency):
    assert client.get(reverse("buyer-calendar", args=["1:forged"])).status_code == 404


# --- cancel my booking -----------------------------------------------------------------


@pytest.mark.parametrize(
    "status", [Status.QUEUED, Status.RETRYING, Status.HELD, Status.REJECTED, Status.FAILED]
)
def test_a_booking_not_yet_delivered_is_cancelled_outright(agency, client, status):
    booking = make_booking(agency, status=status, language="en")

    response = cancel(client, booking)

    assert response.status_code == 302
    assert response["Location"] == status_path(booking)
    booking.refresh_from_db()
    assert (booking.status, booking.cancellation_requested_at) == (Status.CANCELLED, None)
    assert "Your booking is cancelled" in page(client, booking)


def test_a_cancelled_booking_is_never_sent(agency, client, sandbox):
    booking = make_booking(agency)
    cancel(client, booking)

    assert deliver(booking.pk) is None
    assert sandbox.received() == []


def test_a_delivered_booking_records_the_request_for_staff(agency, client):
    booking = delivered_booking(agency, language="en")

    cancel(client, booking)

    booking.refresh_from_db()
    assert booking.status == Status.DELIVERED
    assert booking.cancellation_requested_at is not None
    assert "You asked to cancel this booking" in page(client, booking)


@pytest.mark.parametrize("status", [Status.NEEDS_REVIEW])
def test_a_booking_that_may_be_in_the_provider_records_the_request(agency, client, status):
    booking = make_booking(agency, status=status)

    cancel(client, booking)

    booking.refresh_from_db()
    assert booking.status == status
    assert booking.cancellation_requested_at is not None


def test_a_booking_a_worker_has_claimed_is_not_cancelled_under_it(agency, client):
    booking = make_booking(agency)
    assert claim(booking.pk) is not None  # a worker is sending it

    cancel(client, booking)

    booking.refresh_from_db()
    assert booking.status == Status.SENDING
    assert booking.cancellation_requested_at is not None


def test_asking_twice_keeps_the_first_request(agency, client):
    booking = delivered_booking(agency)
    cancel(client, booking)
    booking.refresh_from_db()
    first = booking.cancellation_requested_at

    cancel(client, booking)

    booking.refresh_from_db()
    assert booking.cancellation_requested_at == first


def test_a_booking_whose_time_has_passed_cannot_be_cancelled(agency, client):
    booking = delivered_booking(agency)
    Viewing.objects.filter(pk=booking.viewing_id).update(
        starts_at=timezone.now() - timedelta(hours=2), ends_at=timezone.now() - timedelta(hours=1)
    )

    cancel(client, booking)

    booking.refresh_from_db()
    assert booking.cancellation_requested_at is None
    assert "Cancel my booking" not in page(client, booking, HTTP_ACCEPT_LANGUAGE="en")


def test_cancel_needs_the_csrf_token(agency):
    booking = make_booking(agency)

    response = cancel(Client(enforce_csrf_checks=True), booking)

    assert response.status_code == 403
    booking.refresh_from_db()
    assert booking.status == Status.QUEUED


def test_cancel_is_not_done_by_a_get(agency, client):
    booking = make_booking(agency)

    assert client.get(reverse("buyer-cancel", args=[status_token(booking)])).status_code == 200
    booking.refresh_from_db()
    assert booking.status == Status.QUEUED


def test_a_forged_cancel_link_cancels_nothing(agency, client):
    booking = make_booking(agency)

    assert client.post(reverse("buyer-cancel", args=["1:forged"])).status_code == 404
    booking.refresh_from_db()
    assert booking.status == Status.QUEUED


# --- staff see the buyer's request -----------------------------------------------------


def test_staff_find_requested_cancellations_with_the_list_filter(agency, client):
    asked = delivered_booking(agency, email="asked@example.se")
    delivered_booking(agency, email="quiet@example.se")
    cancel(client, asked)
    client.force_login(make_staff_user(agency))

    response = client.get(
        reverse("admin:bookings_booking_changelist") + "?cancellation_requested_at__isnull=False"
    )

    text = response.content.decode()
    assert "asked@example.se" in text
    assert "quiet@example.se" not in text


def test_staff_see_the_request_on_the_booking_page_and_cannot_edit_it(agency, client):
    booking = delivered_booking(agency)
    cancel(client, booking)
    client.force_login(make_staff_user(agency))

    response = client.get(
        reverse("admin:bookings_booking_change", args=[booking.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )

    text = response.content.decode()
    assert "Buyer asked to cancel at" in text
    assert 'name="cancellation_requested_at"' not in text


# --- the API gives the link ------------------------------------------------------------


def test_the_api_answers_the_buyers_status_link_in_their_language(client, api_key, slot_viewing):
    from tests.factories import post_booking_api

    response = post_booking_api(client, api_key, language="en")

    link = response.json()["buyer_status_url"]
    assert link.startswith("http://testserver/booking/")
    booking = Booking.objects.get()
    assert booking.language == "en"
    assert "Your booking is received" in client.get(link).content.decode()


def test_the_private_page_is_never_cached_nor_named_to_other_sites(agency, client):
    response = client.get(status_path(make_booking(agency)))

    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    # The privacy policy link leads elsewhere: the page's address must not go with it.
    assert response["Referrer-Policy"] == "same-origin"


def test_staff_close_a_requested_cancellation_once_done_in_the_provider(
    agency, client, settings, django_capture_on_commit_callbacks
):
    from django.core import mail

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    asked = delivered_booking(agency, email="asked@example.se")
    quiet = delivered_booking(agency, email="quiet@example.se")
    cancel(client, asked)
    client.force_login(make_staff_user(agency))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:bookings_booking_changelist"),
            {
                "action": "cancel_as_the_buyer_asked",
                "_selected_action": [asked.pk, quiet.pk],
                "post": "yes",
            },
            follow=True,
            HTTP_ACCEPT_LANGUAGE="en",
        )

    assert (
        "1 booking cancelled. 1 booking skipped: the buyer did not ask to cancel."
        in response.content.decode()
    )
    asked.refresh_from_db()
    quiet.refresh_from_db()
    assert (asked.status, quiet.status) == (Status.CANCELLED, Status.DELIVERED)
    assert mail.outbox == []


def test_staff_of_another_agency_cannot_close_a_requested_cancellation(agency, make_agency, client):
    booking = delivered_booking(agency)
    cancel(client, booking)
    client.force_login(make_staff_user(make_agency()))

    client.post(
        reverse("admin:bookings_booking_changelist"),
        {"action": "cancel_as_the_buyer_asked", "_selected_action": [booking.pk]},
    )

    booking.refresh_from_db()
    assert booking.status == Status.DELIVERED


# --- when the link stops answering -------------------------------------------------------

DOORS = {
    "page": lambda client, token: client.get(reverse("buyer-status", args=[token])),
    "calendar": lambda client, token: client.get(reverse("buyer-calendar", args=[token])),
    "cancel": lambda client, token: client.post(reverse("buyer-cancel", args=[token])),
    "cancel step": lambda client, token: client.get(reverse("buyer-cancel", args=[token])),
}


def ended_days_ago(booking, days: float) -> None:
    ends_at = timezone.now() - timedelta(days=days)
    Viewing.objects.filter(pk=booking.viewing_id).update(
        starts_at=ends_at - timedelta(hours=1), ends_at=ends_at
    )


@pytest.mark.parametrize("door", DOORS)
def test_an_erased_bookings_link_is_not_found(agency, client, door):
    booking = make_booking(agency, email="anna@example.se")
    call_command("erase_buyer", "anna@example.se")

    response = DOORS[door](client, status_token(booking))

    assert response.status_code == 404
    assert "anna" not in response.content.decode().lower()


@pytest.mark.parametrize("door", DOORS)
def test_a_link_is_gone_once_the_viewing_ended_the_set_days_ago(agency, client, settings, door):
    settings.BUYER_LINK_DAYS_AFTER_VIEWING = 30
    booking = delivered_booking(agency, language="en")
    ended_days_ago(booking, 30.01)

    response = DOORS[door](client, status_token(booking))

    assert response.status_code == 410
    assert "This booking page is closed" in response.content.decode()
    assert "more than 30 days ago" in response.content.decode()


def test_a_link_still_answers_until_the_set_days_have_passed(agency, client, settings):
    settings.BUYER_LINK_DAYS_AFTER_VIEWING = 30
    booking = delivered_booking(agency, language="en")
    ended_days_ago(booking, 29.99)

    assert client.get(status_path(booking)).status_code == 200


def test_the_gone_page_is_in_the_buyers_language(agency, client):
    booking = delivered_booking(agency, language="sv")
    ended_days_ago(booking, settings.BUYER_LINK_DAYS_AFTER_VIEWING + 1)

    response = client.get(status_path(booking), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 410
    assert response["Content-Language"] == "sv"
    assert "Mäklarhuset Uppsala" in response.content.decode()
    assert "Bokningssidan är stängd" in response.content.decode()
