"""The buyer's receipt (bookings/buyer/emails.py): one email when a booking is accepted,
through every door that creates one, in the buyer's language, with the private link, the
calendar file and cancel; worded as the booking service's receipt, never as the
provider's confirmation; unless the agency turned receipts off."""

import pytest
from django.core import mail
from django.urls import reverse
from icalendar import Calendar

from agencies.models import ApiKey, Provider
from bookings.buyer.emails import send_receipt_email
from bookings.buyer.links import status_token
from bookings.models import Booking
from tests.factories import (
    ROLES,
    admin_booking_data,
    make_booking,
    make_three_slot_viewing,
    make_user_in_role,
    post_booking_api,
    post_booking_page,
)

Status = Booking.Status
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def tasks_run_at_once(settings):
    """Tasks run as they are enqueued, so an email goes when its transaction commits."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.SITE_URL = "https://bridge.example.se"


@pytest.fixture
def agency(make_agency):
    return make_agency(Provider.MSPECS, name="Mäklarhuset Uppsala")


@pytest.fixture
def viewing(agency):
    return make_three_slot_viewing(agency)


def receipts():
    return [email for email in mail.outbox if "not yet confirmed" in email.subject]


def link(name, booking):
    return "https://bridge.example.se" + reverse(name, args=[status_token(booking)])


# --- every door ---------------------------------------------------------------------------


def test_a_buyer_who_books_on_the_public_page_gets_a_receipt(
    client, viewing, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_booking_page(client, viewing)

    [receipt] = receipts()
    booking = Booking.objects.get()
    assert receipt.to == [booking.email]
    assert link("buyer-status", booking) in receipt.body
    assert booking_refreshed(booking).receipt_sent_at is not None


def test_a_buyer_booked_through_the_api_gets_a_receipt(
    client, viewing, agency, django_capture_on_commit_callbacks
):
    api_key = ApiKey.issue(agency, "Website")[1]

    with django_capture_on_commit_callbacks(execute=True):
        assert post_booking_api(client, api_key).status_code == 202

    [receipt] = receipts()
    assert link("buyer-status", Booking.objects.get()) in receipt.body


@pytest.mark.parametrize("role", ROLES)
def test_a_buyer_booked_by_staff_in_the_admin_gets_a_receipt(
    client, viewing, agency, role, django_capture_on_commit_callbacks
):
    client.force_login(make_user_in_role(role, agency))
    slot = viewing.slots.get(provider_slot_id="slot-open")
    data = admin_booking_data(viewing, slot, language="en")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:bookings_booking_add"), data)

    assert response.status_code == 302
    [receipt] = receipts()
    assert link("buyer-status", Booking.objects.get()) in receipt.body


def test_a_refused_booking_sends_no_receipt(client, viewing, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_booking_page(client, viewing, consent="")

    assert Booking.objects.count() == 0
    assert mail.outbox == []


# --- the agency's setting ----------------------------------------------------------------


def test_an_agency_that_turned_receipts_off_sends_none(
    client, viewing, agency, django_capture_on_commit_callbacks
):
    agency.buyer_receipts_enabled = False
    agency.save()

    with django_capture_on_commit_callbacks(execute=True):
        post_booking_page(client, viewing)

    assert receipts() == []
    assert Booking.objects.get().receipt_sent_at is None


def test_receipts_are_on_for_a_new_agency(make_agency):
    assert make_agency().buyer_receipts_enabled is True


def test_receipts_off_leave_the_other_buyer_emails_on(agency):
    agency.buyer_receipts_enabled = False
    agency.save()
    booking = make_booking(agency, status=Status.QUEUED)

    assert send_receipt_email(booking.pk) is False
    assert agency.buyer_emails_enabled is True


# --- what it says --------------------------------------------------------------------------


def test_the_receipt_in_swedish_carries_the_link_the_calendar_file_and_cancel(agency):
    booking = make_booking(agency, first_name="Anna", language="sv")

    assert send_receipt_email(booking.pk) is True

    [receipt] = mail.outbox
    assert receipt.subject == f"Bokning mottagen, ännu inte bekräftad: {booking.viewing.title}"
    assert "Hej Anna," in receipt.body
    assert "Det här är ett kvitto från Viewing Bridge" in receipt.body
    assert "inte en bekräftelse från byråns mäklarsystem" in receipt.body
    assert f"Din bokning, som den står nu:\n{link('buyer-status', booking)}" in receipt.body
    assert link("buyer-calendar", booking) in receipt.body
    assert f"Avboka din bokning:\n{link('buyer-cancel', booking)}" in receipt.body
    [(name, content, mimetype)] = receipt.attachments
    assert name == "visning-storgatan-1-annu-inte-bekraftad.ics"
    assert mimetype == "text/calendar"
    [event] = Calendar.from_ical(content).walk("VEVENT")
    assert str(event["status"]) == "TENTATIVE"


def test_the_receipt_in_english(agency):
    booking = make_booking(agency, first_name="Anna", language="en")

    send_receipt_email(booking.pk)

    [receipt] = mail.outbox
    assert receipt.subject == f"Booking received, not yet confirmed: {booking.viewing.title}"
    assert "Hello Anna," in receipt.body
    assert "not a confirmation from the agency's system" in receipt.body
    assert f"Cancel your booking:\n{link('buyer-cancel', booking)}" in receipt.body
    assert receipt.attachments[0][0] == "viewing-storgatan-1-not-yet-confirmed.ics"


def test_the_receipt_says_what_the_agencys_system_sends_the_buyer_itself(agency, make_agency):
    mspecs = make_booking(agency, language="en", email="anna@example.se")
    vitec = make_booking(
        make_agency(Provider.VITEC, vitec_sms_confirmation=True, vitec_mail_confirmation=False),
        language="en",
    )

    send_receipt_email(mspecs.pk)
    send_receipt_email(vitec.pk)

    assert "that system emails you (anna@example.se) asking you to confirm" in mail.outbox[0].body
    assert "that system confirms it to you by text message" in mail.outbox[1].body


def test_the_links_in_the_receipt_open_the_status_page_the_calendar_file_and_cancel(agency, client):
    booking = make_booking(agency, language="en")
    send_receipt_email(booking.pk)
    body = mail.outbox[0].body

    for name in ("buyer-status", "buyer-calendar", "buyer-cancel"):
        path = link(name, booking).removeprefix("https://bridge.example.se")
        assert path in body
        assert client.get(path).status_code == 200


# --- once, and only while it stands -------------------------------------------------------


def test_two_tasks_for_one_booking_send_one_receipt(agency):
    booking = make_booking(agency)

    assert [send_receipt_email(booking.pk) for _ in range(2)] == [True, False]
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("status", [Status.REJECTED, Status.FAILED, Status.CANCELLED])
def test_a_booking_that_ended_before_its_receipt_went_gets_none(agency, status):
    booking = make_booking(agency, status=status)

    assert send_receipt_email(booking.pk) is False
    assert mail.outbox == []


def test_a_delivered_booking_still_gets_its_receipt(agency):
    booking = make_booking(agency, status=Status.DELIVERED)

    assert send_receipt_email(booking.pk) is True


def booking_refreshed(booking):
    booking.refresh_from_db()
    return booking


# --- who may turn them off ----------------------------------------------------------------


@pytest.mark.parametrize(
    "role, may",
    [
        ("superuser", True),
        ("administrator", True),
        ("staff", False),
        ("staff_here_administrator_there", False),
    ],
)
def test_the_agencys_administrators_turn_receipts_off_in_the_admin(client, agency, role, may):
    client.force_login(make_user_in_role(role, agency))
    data = {
        "name": agency.name,
        "slug": agency.slug,
        "provider": agency.provider,
        "phone_region": agency.phone_region,
        "is_active": "on",
        "buyer_emails_enabled": "on",
        # buyer_receipts_enabled left out: an unticked box
    }

    client.post(reverse("admin:agencies_agency_change", args=[agency.pk]), data)

    agency.refresh_from_db()
    assert agency.buyer_receipts_enabled is not may
