"""The correcting email (bookings/buyer/emails.py): a buyer told their booking could not go
ahead hears, once, when staff re-send it and it reaches the provider after all; and no
email to a buyer claims to be the last."""

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import translation

from agencies.models import Provider
from bookings.buyer.emails import (
    correction_email,
    ended_email,
    receipt_email,
    send_buyer_email,
    send_correction_email,
)
from bookings.delivery import staff_actions
from bookings.delivery.sending import deliver
from bookings.models import Booking
from tests.factories import ROLES, by_staff, make_booking, make_user_in_role

Status = Booking.Status
pytestmark = pytest.mark.django_db
REJECTION = {"message": "Invalid phone number."}  # a BadRequestError


@pytest.fixture(autouse=True)
def tasks_run_at_once(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.SITE_URL = "https://bridge.example.se"


@pytest.fixture
def agency(make_agency):
    return make_agency(Provider.MSPECS, name="Mäklarhuset Uppsala")


def told_it_was_rejected(booking, sandbox, capture):
    sandbox.set_fault(status=400, count=1, body=REJECTION)
    with capture(execute=True):
        assert deliver(booking.pk) == "rejected"
    assert [email.subject for email in mail.outbox] == [
        f"Your viewing booking could not be registered: {booking.viewing.title}"
    ]


def corrections():
    return [email for email in mail.outbox if "after all" in email.subject]


def test_a_rejected_booking_that_staff_re_send_and_that_is_delivered_corrects_the_email(
    agency, sandbox, django_capture_on_commit_callbacks
):
    booking = make_booking(agency, language="en", first_name="Anna")
    told_it_was_rejected(booking, sandbox, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        staff_actions.resend([booking], by_staff())

    booking.refresh_from_db()
    assert booking.status == Status.DELIVERED
    [correction] = corrections()
    assert correction.subject == (
        f"Your viewing booking reached the agency after all: {booking.viewing.title}"
    )
    assert "We emailed you that your booking could not be registered" in correction.body
    assert "it has now reached their system" in correction.body
    assert booking.buyer_corrected_at is not None


def test_the_correction_in_swedish_carries_the_calendar_file(
    agency, sandbox, django_capture_on_commit_callbacks
):
    booking = make_booking(agency, language="sv")
    sandbox.set_fault(status=400, count=1, body=REJECTION)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(booking.pk)
    with django_capture_on_commit_callbacks(execute=True):
        staff_actions.resend([booking], by_staff())

    correction = mail.outbox[-1]
    assert correction.subject.startswith("Din visningsbokning kom fram till mäklaren ändå: ")
    assert "Så är det inte längre" in correction.body
    [(name, _, _)] = correction.attachments
    assert name.endswith(".ics")


@pytest.mark.parametrize("role", ROLES)
def test_staff_re_sending_from_the_admin_corrects_the_email(
    agency, sandbox, client, role, django_capture_on_commit_callbacks
):
    booking = make_booking(agency, language="en")
    told_it_was_rejected(booking, sandbox, django_capture_on_commit_callbacks)
    client.force_login(make_user_in_role(role, agency))

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:bookings_booking_changelist"),
            {"action": "resend", "_selected_action": [booking.pk], "post": "yes"},
        )

    booking.refresh_from_db()
    assert booking.status == Status.DELIVERED
    assert len(corrections()) == 1


def test_a_booking_staff_mark_as_delivered_after_its_buyer_was_told_it_failed_corrects_it(
    agency, django_capture_on_commit_callbacks
):
    booking = make_booking(agency, status=Status.NEEDS_REVIEW, language="en")
    Booking.objects.filter(pk=booking.pk).update(status=Status.REJECTED)
    assert send_buyer_email(booking.pk, Status.REJECTED)
    Booking.objects.filter(pk=booking.pk).update(status=Status.NEEDS_REVIEW)

    with django_capture_on_commit_callbacks(execute=True):
        staff_actions.mark_delivered([Booking.objects.get(pk=booking.pk)], by_staff())

    assert len(corrections()) == 1


def test_a_booking_delivered_at_once_sends_no_correction(
    agency, sandbox, django_capture_on_commit_callbacks
):
    booking = make_booking(agency)

    with django_capture_on_commit_callbacks(execute=True):
        deliver(booking.pk)

    booking.refresh_from_db()
    assert booking.status == Status.DELIVERED
    assert mail.outbox == []


def test_the_correction_goes_once(agency):
    booking = make_booking(agency, status=Status.REJECTED)
    send_buyer_email(booking.pk, Status.REJECTED)
    Booking.objects.filter(pk=booking.pk).update(status=Status.DELIVERED)

    assert [send_correction_email(booking.pk) for _ in range(2)] == [True, False]
    assert len(mail.outbox) == 2


def test_no_correction_for_a_booking_that_is_no_longer_delivered(agency):
    booking = make_booking(agency, status=Status.REJECTED)
    send_buyer_email(booking.pk, Status.REJECTED)

    assert send_correction_email(booking.pk) is False


def test_no_correction_when_the_agency_turned_buyer_emails_off(agency):
    booking = make_booking(agency, status=Status.REJECTED)
    send_buyer_email(booking.pk, Status.REJECTED)
    Booking.objects.filter(pk=booking.pk).update(status=Status.DELIVERED)
    agency.buyer_emails_enabled = False
    agency.save()

    assert send_correction_email(booking.pk) is False


# --- no email claims to be the last --------------------------------------------------------

LAST_WORDS = {
    "en": ["only email", "last email", "no further", "won't hear", "will not hear"],
    "sv": ["enda mejl", "sista mejl", "inga fler", "hör inte"],
}


@pytest.mark.parametrize("language", ["sv", "en"])
@pytest.mark.parametrize("status", [Status.REJECTED, Status.CANCELLED, Status.DELIVERED])
def test_no_email_to_a_buyer_claims_to_be_the_last(agency, language, status):
    booking = make_booking(agency, language=language, status=status)

    emails = [receipt_email(booking), correction_email(booking)]
    if status != Status.DELIVERED:
        emails.append(ended_email(booking))

    with translation.override(language):
        for email in emails:
            text = f"{email.subject}\n{email.body}".casefold()
            assert text.strip()
            assert not [words for words in LAST_WORDS[language] if words in text]
