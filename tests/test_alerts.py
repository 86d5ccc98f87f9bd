"""Email alerts to an agency's administrators: a digest per agency and kind at most every
ALERT_DIGEST_MINUTES, in each recipient's language, to those who did not turn them off;
recorded where things happen, sent by the scheduler."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from agencies.alerts import send_due_digests
from agencies.models import Alert, CredentialStatus, Membership
from bookings import polling
from bookings.delivery.credentials import check_credential
from bookings.delivery.sending import deliver
from bookings.models import Booking
from tests.factories import by_staff, make_booking, make_slot_viewing, make_staff_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def agency(make_agency):
    return make_agency(name="Mäklarhuset")


def administrator(agency, email, language="sv", **fields):
    user = make_staff_user(agency, role=Membership.Role.ADMIN)
    user.email = email
    user.save()
    Membership.objects.filter(user=user).update(language=language, **fields)
    return user


def fail_booking(agency, sandbox, settings):
    settings.DELIVERY_RETRY_SCHEDULE = []  # one attempt, then failed
    booking = make_booking(agency)
    sandbox.set_fault("status", status=503)
    deliver(booking.pk)
    return booking


def test_a_failed_booking_reaches_the_administrators_in_their_language(agency, sandbox, settings):
    administrator(agency, "sv@example.se", "sv")
    administrator(agency, "en@example.se", "en")
    make_staff_user(agency).email = "staff@example.se"  # staff are not alerted
    booking = fail_booking(agency, sandbox, settings)

    assert mail.outbox == []  # never in the delivery call
    assert send_due_digests() == 2

    by_address = {message.to[0]: message for message in mail.outbox}
    assert set(by_address) == {"sv@example.se", "en@example.se"}
    english, swedish = by_address["en@example.se"], by_address["sv@example.se"]
    assert english.subject == (
        "Viewing Bridge: Mäklarhuset: bookings failed or needing review (1 event)"
    )
    assert "Gave up after 1 attempts." in english.body
    assert reverse("admin:bookings_booking_change", args=[booking.pk]) in english.body
    assert "bokningar som misslyckats eller att granska (1 händelse)" in swedish.subject
    assert "Gav upp efter 1 försök." in swedish.body


def test_one_digest_per_agency_and_kind_per_interval(agency, sandbox, settings):
    administrator(agency, "admin@example.se")
    settings.ALERT_DIGEST_MINUTES = 60
    fail_booking(agency, sandbox, settings)
    fail_booking(agency, sandbox, settings)

    assert send_due_digests() == 1
    fail_booking(agency, sandbox, settings)
    assert send_due_digests() == 0  # within the interval: waits for the next digest
    assert send_due_digests(timezone.now() + timedelta(minutes=61)) == 1

    first, second = mail.outbox
    assert "(2 händelser)" in first.subject  # Swedish: the default language
    assert "(1 händelse)" in second.subject


def test_an_administrator_who_turned_alerts_off_gets_none(agency, sandbox, settings):
    administrator(agency, "off@example.se", email_alerts=False)
    fail_booking(agency, sandbox, settings)

    send_due_digests()

    assert mail.outbox == []
    assert not Alert.objects.filter(sent_at__isnull=True).exists()  # not piled up


def test_a_credential_that_starts_failing_is_alerted_once(agency, sandbox):
    administrator(agency, "admin@example.se", "en")
    sandbox.set_credential("sandbox", "changed-in-the-provider")
    for _ in range(2):
        booking = make_booking(agency)
        deliver(booking.pk)
    check_credential(agency.credential, by_staff())

    send_due_digests()

    (message,) = mail.outbox
    assert "broker-system credential failing (1 event)" in message.subject
    assert "HTTP 401" in message.body
    agency.credential.refresh_from_db()
    assert agency.credential.status == CredentialStatus.FAILING


def test_slot_polling_that_keeps_failing_is_alerted_once_per_viewing(agency, sandbox):
    administrator(agency, "admin@example.se", "en")
    make_slot_viewing(agency, "deal-gone", ["s1"])
    sandbox.set_fault("status", status=500)

    polling.poll_slots(polling.due_viewings())
    assert not Alert.objects.exists()  # failing once is not yet "keeps failing"
    for _ in range(3):
        polling.poll_slots(polling.due_viewings(timezone.now() + timedelta(hours=1)))

    send_due_digests()
    (message,) = mail.outbox
    assert "slot polling failing (1 event)" in message.subject


def test_my_alerts_page_edits_only_the_users_own_memberships(client, agency, make_agency):
    other = make_agency(name="Other")
    user = administrator(agency, "me@example.se")
    Membership.objects.create(user=user, agency=other, role=Membership.Role.STAFF)
    someone_else = administrator(agency, "else@example.se")
    client.force_login(user)
    mine = list(Membership.objects.filter(user=user).order_by("pk"))
    theirs = Membership.objects.get(user=someone_else)
    url = reverse("admin:agencies_membership_mine")

    page = client.get(url)
    response = client.post(
        url,
        {
            "form-TOTAL_FORMS": "3",
            "form-INITIAL_FORMS": "3",
            "form-0-id": mine[0].pk,
            "form-0-language": "en",
            "form-1-id": mine[1].pk,
            "form-1-language": "sv",
            "form-1-email_alerts": "on",
            "form-2-id": theirs.pk,  # another user's: not in the user's queryset
            "form-2-language": "en",
        },
    )

    assert page.status_code == 200
    assert "else@example.se" not in page.text
    assert response.status_code in (200, 302)
    theirs.refresh_from_db()
    assert (theirs.language, theirs.email_alerts) == ("sv", True)


def test_my_alerts_page_saves_the_choice(client, agency):
    user = administrator(agency, "me@example.se")
    client.force_login(user)
    membership = Membership.objects.get(user=user)

    client.post(
        reverse("admin:agencies_membership_mine"),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": membership.pk,
            "form-0-language": "en",
        },
    )

    membership.refresh_from_db()
    assert (membership.language, membership.email_alerts) == ("en", False)


@pytest.mark.parametrize("language", ["de", "x" * 100, "sv\x00"])
def test_my_alerts_page_refuses_a_language_we_do_not_have(client, agency, language):
    user = administrator(agency, "me@example.se")
    client.force_login(user)
    membership = Membership.objects.get(user=user)

    response = client.post(
        reverse("admin:agencies_membership_mine"),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": membership.pk,
            "form-0-language": language,
            "form-0-email_alerts": "on",
        },
    )

    assert response.status_code in (200, 400)
    membership.refresh_from_db()
    assert membership.language == "sv"


def test_nothing_unsent_means_no_email(agency):
    administrator(agency, "admin@example.se")
    assert send_due_digests() == 0
    assert mail.outbox == []
    assert Booking.objects.count() == 0
