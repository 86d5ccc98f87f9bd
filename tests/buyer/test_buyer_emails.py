"""The one email a buyer gets when their booking cannot go ahead (bookings/buyer/emails.py):
rejected or failed by delivery, set aside by slot polling, or cancelled by staff; in the
language they booked in, once, after the change commits, unless the agency turned it off."""

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from agencies.models import Membership, Provider
from bookings.buyer.emails import send_buyer_email
from bookings.buyer.links import status_path
from bookings.delivery import staff_actions
from bookings.delivery.sending import deliver
from bookings.models import Booking, Viewing
from bookings.polling import poll_slots
from tests.factories import by_staff, make_booking, make_staff_user

Status = Booking.Status
pytestmark = pytest.mark.django_db
REJECTION = {"message": "Invalid phone number."}  # a BadRequestError


@pytest.fixture(autouse=True)
def tasks_run_at_once(settings):
    """Tasks run as they are enqueued, so an email goes when its transaction commits."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.SITE_URL = "https://bridge.example.se"


@pytest.fixture
def agency(make_agency):
    return make_agency(Provider.MSPECS, name="Mäklarhuset Uppsala")


def rejected_by_the_provider(booking, sandbox, capture):
    sandbox.set_fault(status=400, count=1, body=REJECTION)
    with capture(execute=True):
        assert deliver(booking.pk) == "rejected"


def test_a_rejected_booking_emails_its_buyer_in_swedish_what_happened_and_what_to_do(
    agency, sandbox, django_capture_on_commit_callbacks
):
    booking = make_booking(agency, first_name="Anna", email="anna@example.se")

    rejected_by_the_provider(booking, sandbox, django_capture_on_commit_callbacks)

    [email] = mail.outbox
    assert email.to == ["anna@example.se"]
    assert email.subject == f"Din visningsbokning kunde inte registreras: {booking.viewing.title}"
    assert "Hej Anna," in email.body
    assert "kunde inte registreras i mäklarsystemet hos Mäklarhuset Uppsala" in email.body
    page = f"https://bridge.example.se/book/{booking.viewing.public_id}/"
    assert f"Du kan boka en annan tid här:\n{page}" in email.body
    assert f"https://bridge.example.se{status_path(booking)}" in email.body
    booking.refresh_from_db()
    assert booking.buyer_notified_at is not None


def test_a_buyer_who_booked_in_english_gets_the_email_in_english(
    agency, sandbox, django_capture_on_commit_callbacks
):
    booking = make_booking(agency, language="en", first_name="Anna")

    rejected_by_the_provider(booking, sandbox, django_capture_on_commit_callbacks)

    [email] = mail.outbox
    assert email.subject.startswith("Your viewing booking could not be registered: ")
    assert "Hello Anna," in email.body
    assert "could not be registered in the system of Mäklarhuset Uppsala" in email.body


@override_settings(DELIVERY_RETRY_SCHEDULE=[0])
def test_a_booking_that_fails_after_its_last_attempt_emails_its_buyer(
    agency, sandbox, django_capture_on_commit_callbacks
):
    sandbox.set_fault("status", status=503)
    booking = make_booking(agency)

    with django_capture_on_commit_callbacks(execute=True):
        deliver(booking.pk)
        deliver(booking.pk)

    booking.refresh_from_db()
    assert booking.status == Status.FAILED
    assert len(mail.outbox) == 1
    assert "kunde inte registreras" in mail.outbox[0].subject


def test_the_email_goes_only_after_the_change_commits(
    agency, sandbox, django_capture_on_commit_callbacks
):
    sandbox.set_fault(status=400, count=1, body=REJECTION)
    booking = make_booking(agency)

    with django_capture_on_commit_callbacks() as callbacks:
        deliver(booking.pk)
        assert mail.outbox == []
    for callback in callbacks:
        callback()

    assert len(mail.outbox) == 1


def test_a_booking_rejected_again_after_a_resend_emails_its_buyer_only_once(
    agency, sandbox, django_capture_on_commit_callbacks
):
    booking = make_booking(agency)
    rejected_by_the_provider(booking, sandbox, django_capture_on_commit_callbacks)

    staff_actions.resend([booking], by_staff())
    rejected_by_the_provider(booking, sandbox, django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 1


def test_two_tasks_for_one_booking_send_one_email(agency):
    booking = make_booking(agency, status=Status.REJECTED)

    sent = [send_buyer_email(booking.pk, Status.REJECTED) for _ in range(2)]

    assert sent == [True, False]
    assert len(mail.outbox) == 1


def test_an_agency_that_turned_the_emails_off_sends_none(
    agency, sandbox, django_capture_on_commit_callbacks
):
    agency.buyer_emails_enabled = False
    agency.save()
    booking = make_booking(agency)

    rejected_by_the_provider(booking, sandbox, django_capture_on_commit_callbacks)

    assert mail.outbox == []
    booking.refresh_from_db()
    assert booking.buyer_notified_at is None


def test_no_email_when_the_booking_was_re_sent_before_the_email_went(agency):
    booking = make_booking(agency, status=Status.QUEUED)

    assert send_buyer_email(booking.pk, Status.REJECTED) is False
    assert mail.outbox == []


def test_an_email_that_could_not_be_sent_can_be_sent_again(agency, settings):
    booking = make_booking(agency, status=Status.REJECTED)
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9},  # nothing listens
        }
    }

    with pytest.raises(OSError):
        send_buyer_email(booking.pk, Status.REJECTED)
    booking.refresh_from_db()
    assert booking.buyer_notified_at is None

    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    assert send_buyer_email(booking.pk, Status.REJECTED) is True


def test_the_email_says_to_contact_the_agency_when_the_viewing_can_no_longer_be_booked(
    agency, sandbox, django_capture_on_commit_callbacks
):
    booking = make_booking(agency, language="en")
    Viewing.objects.filter(pk=booking.viewing_id).update(is_open=False)

    rejected_by_the_provider(booking, sandbox, django_capture_on_commit_callbacks)

    [email] = mail.outbox
    assert "/book/" not in email.body
    assert "can no longer be booked online; contact Mäklarhuset Uppsala" in email.body


def test_the_email_names_the_agency_by_its_consent_name(
    make_agency, sandbox, django_capture_on_commit_callbacks
):
    agency = make_agency(name="MH", consent_name="Mäklarhuset Uppsala AB")
    booking = make_booking(agency, language="en")

    rejected_by_the_provider(booking, sandbox, django_capture_on_commit_callbacks)

    assert "in the system of Mäklarhuset Uppsala AB" in mail.outbox[0].body


def test_slot_polling_that_sets_a_booking_aside_emails_its_buyer(
    agency, sandbox, django_capture_on_commit_callbacks
):
    booking = make_booking(agency, time_slots=True, slot_id="slot-1")
    sandbox.set_deal(booking.viewing.mspecs_deal_id, {"slot-1": 1}, booked={"slot-1": 1})

    with django_capture_on_commit_callbacks(execute=True):
        poll_slots(Viewing.objects.filter(pk=booking.viewing_id))

    booking.refresh_from_db()
    assert booking.status == Status.REJECTED
    assert len(mail.outbox) == 1


# --- staff's Cancel --------------------------------------------------------------------


def cancel_in_the_admin(client, booking, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(
            reverse("admin:bookings_booking_changelist"),
            {"action": "cancel", "_selected_action": [booking.pk]},
        )


@pytest.mark.parametrize(
    "role", ["superuser", "administrator", "staff", "staff here, administrator elsewhere"]
)
def test_staff_cancelling_a_booking_email_its_buyer(
    role, agency, make_agency, client, admin_user, django_capture_on_commit_callbacks
):
    users = {
        "superuser": lambda: admin_user,
        "administrator": lambda: make_staff_user(agency, role=Membership.Role.ADMIN),
        "staff": lambda: make_staff_user(agency),
        "staff here, administrator elsewhere": lambda: (
            make_staff_user(agency),
            Membership.objects.create(
                user=make_staff_user(), agency=make_agency(), role=Membership.Role.ADMIN
            ),
        )[0],
    }
    client.force_login(users[role]())
    booking = make_booking(agency, status=Status.REJECTED, language="en")

    cancel_in_the_admin(client, booking, django_capture_on_commit_callbacks)

    booking.refresh_from_db()
    assert booking.status == Status.CANCELLED
    [email] = mail.outbox
    assert email.subject.startswith("Your viewing booking is cancelled: ")
    assert "Mäklarhuset Uppsala has cancelled your booking for this viewing:" in email.body


def test_staff_of_another_agency_cannot_cancel_and_no_email_goes(
    agency, make_agency, client, django_capture_on_commit_callbacks
):
    client.force_login(make_staff_user(make_agency()))
    booking = make_booking(agency)

    cancel_in_the_admin(client, booking, django_capture_on_commit_callbacks)

    booking.refresh_from_db()
    assert booking.status == Status.QUEUED
    assert mail.outbox == []


def test_cancelling_without_telling_the_buyer_sends_nothing(
    agency, django_capture_on_commit_callbacks
):
    booking = make_booking(agency)

    with django_capture_on_commit_callbacks(execute=True):
        staff_actions.cancel([booking], by_staff(), tell_buyer=False)

    assert mail.outbox == []


def test_a_buyer_cancelling_their_own_booking_gets_no_email(
    agency, client, django_capture_on_commit_callbacks
):
    booking = make_booking(agency)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("buyer-cancel", args=[status_path(booking).split("/")[2]]))

    booking.refresh_from_db()
    assert booking.status == Status.CANCELLED
    assert mail.outbox == []


def test_a_booking_delivered_is_never_emailed_about(
    agency, sandbox, django_capture_on_commit_callbacks
):
    booking = make_booking(agency)

    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(booking.pk) == "delivered"

    assert mail.outbox == []
