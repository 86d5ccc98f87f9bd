"""The audit trail (bookings/audit.py): every staff action, whatever the door (the booking
list, a booking's page, the bulk replay, the quarantine mirror, the credential page, the
data-request page), the operator's management commands, the buyer's own actions and the
emails the buyer gets are recorded in Django's admin log with who, when, what and through
which door; a booking's History and its page's timeline show them, only to those who
may see the booking."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from agencies.models import ApiKey
from bookings import audit
from bookings.audit import Action, Actor, By, Door
from bookings.buyer.emails import send_buyer_email, send_correction_email, send_receipt_email
from bookings.buyer.links import status_token
from bookings.models import Booking, QuarantineDecision
from bookings.privacy.retention import apply_retention
from tests.factories import (
    ROLES,
    delivered_booking,
    make_agency,
    make_booking,
    make_staff_user,
    make_user_in_role,
    make_viewing,
    post_booking_api,
)

Status = Booking.Status


def change_url(booking):
    return reverse("admin:bookings_booking_change", args=[booking.pk])


def history_url(booking):
    return reverse("admin:bookings_booking_history", args=[booking.pk])


def signed_in(client, user):
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def trail(obj) -> list[tuple[str, str]]:
    """The object's audit entries, oldest first, as (who, what) in English."""
    entries = LogEntry.objects.filter(object_id=str(obj.pk)).order_by("pk").select_related("user")
    with translation.override("en"):  # a request to a buyer's page leaves their language on
        return [(audit.who(entry.user), audit.describe(entry)) for entry in entries]


def timeline_of(client, booking) -> list[tuple[str, str]]:
    response = client.get(change_url(booking))
    assert response.status_code == 200
    return [(event.who, event.what) for event in response.context["timeline"]]


@pytest.fixture
def agency(db):
    return make_agency(name="Mäklarhuset")


@pytest.fixture
def maja(agency):
    user = make_staff_user(agency, username="maja")
    user.first_name, user.last_name = "Maja", "Lind"
    user.save()
    return user


# --- the doors staff act through ---------------------------------------------------------


def test_a_bulk_action_on_the_booking_list_records_each_booking_with_its_user(client, agency, maja):
    bookings = [make_booking(agency, status=Status.FAILED) for _ in range(2)]
    delivered = make_booking(agency, status=Status.DELIVERED)

    signed_in(client, maja).post(
        reverse("admin:bookings_booking_changelist"),
        {
            "action": "resend",
            "_selected_action": [b.pk for b in [*bookings, delivered]],
            "post": "yes",
        },
    )

    for booking in bookings:
        assert trail(booking) == [("Maja Lind", "Queued to be sent again on the booking list")]
    assert trail(delivered) == []  # skipped: nothing was done to it


ACTION_STATUSES = {
    "send_now": Status.RETRYING,
    "resend": Status.REJECTED,
    "cancel": Status.QUEUED,
    "cancel_as_the_buyer_asked": Status.DELIVERED,
    "mark_delivered": Status.NEEDS_REVIEW,
}


@pytest.mark.parametrize("action", ACTION_STATUSES)
def test_each_button_on_a_bookings_page_records_the_action_and_its_user(
    client, agency, maja, action
):
    booking = make_booking(
        agency, status=ACTION_STATUSES[action], cancellation_requested_at=timezone.now()
    )

    signed_in(client, maja).post(
        reverse("admin:bookings_booking_act", args=[booking.pk, action]), {"post": "yes"}
    )

    entry = LogEntry.objects.get(object_id=str(booking.pk))
    assert (entry.user, entry.get_action_flag_display()) == (maja, "Change")
    assert audit.describe(entry) == f"{Action(action).label} on the booking's page"


def test_saving_a_rejected_booking_and_resending_it_records_both(client, agency, maja):
    booking = make_booking(agency, status=Status.REJECTED, phone="+46701111111")
    data = {
        "first_name": booking.first_name,
        "last_name": booking.last_name,
        "email": booking.email,
        "phone": "+46702222222",
        "message": "",
        "viewing": booking.viewing_id,
        "slot": "",
        "attempts-TOTAL_FORMS": "0",
        "attempts-INITIAL_FORMS": "0",
        "_save_and_resend": "1",
    }

    signed_in(client, maja).post(change_url(booking), data)

    assert trail(booking) == [
        ("Maja Lind", "Changed Phone."),
        ("Maja Lind", "Queued to be sent again saved and re-sent on the booking's page"),
    ]


def test_the_bulk_replay_records_each_booking_with_the_time_it_went_back_to(client, agency, maja):
    since = timezone.now() - timedelta(hours=2)
    failed = make_booking(agency, status=Status.FAILED)
    held = make_booking(agency, status=Status.HELD)

    signed_in(client, maja).post(
        reverse("admin:bookings_booking_replay"),
        {
            "agency": agency.pk,
            "since": timezone.localtime(since).strftime("%Y-%m-%d %H:%M"),
            "confirm": "yes",
        },
    )

    expected = (
        "Maja Lind",
        "Queued to be sent again re-sending the agency's failed and held bookings received "
        f"since {timezone.localtime(since).strftime('%Y-%m-%d %H:%M')}",
    )
    assert trail(failed) == [expected]
    assert trail(held) == [expected]


def test_a_quarantine_decision_is_recorded_on_the_decision_with_its_user(client, agency, maja):
    viewing = make_viewing(agency)
    delivered_booking(viewing, email="anna@example.se")

    signed_in(client, maja).post(
        reverse("admin:quarantine_decide"),
        {"viewing": viewing.pk, "email": "anna@example.se", "decision": "declined"},
    )

    decision = QuarantineDecision.objects.get()
    assert trail(decision) == [("Maja Lind", "Quarantine entry declined in the quarantine mirror")]


def test_testing_a_connection_is_recorded_on_the_credential_with_its_outcome(db, client, sandbox):
    agency = make_agency(sandbox=sandbox)
    administrator = make_user_in_role("administrator", agency)

    signed_in(client, administrator).post(
        reverse("admin:agencies_providercredential_test", args=[agency.credential.pk])
    )

    credential = agency.credential
    credential.refresh_from_db()
    assert trail(credential) == [
        (
            administrator.username,
            f"Connection tested in the admin ({credential.get_status_display()})",
        )
    ]


def test_an_export_records_each_of_the_buyers_bookings(client, agency):
    booking = make_booking(agency, email="anna@example.se")
    administrator = make_user_in_role("administrator", agency)

    signed_in(client, administrator).post(
        reverse("admin:bookings_datarequest_buyer"),
        {"email": "anna@example.se", "action": "export_json"},
    )

    assert trail(booking) == [
        (administrator.username, "Personal data exported for an access request")
    ]


# --- the operator, the buyer and the system ------------------------------------------------


def test_a_management_command_records_the_operator_as_such(agency):
    waiting = make_booking(agency, email="anna@example.se", status=Status.QUEUED)

    call_command("erase_buyer", "anna@example.se")

    operator = "the operator (management command)"
    assert trail(waiting) == [
        (operator, "Cancelled for an erasure request"),
        (operator, "Personal data erased for an erasure request"),
    ]


def test_the_operator_marker_is_no_account_anyone_can_sign_in_as(client, agency):
    call_command("erase_buyer", make_booking(agency, status=Status.QUEUED).email)

    operator = get_user_model().objects.get(username=Actor.OPERATOR)
    assert not operator.is_active
    assert not operator.is_staff
    assert not operator.has_usable_password()
    client.post(reverse("admin:login"), {"username": Actor.OPERATOR, "password": "!"})
    assert "_auth_user_id" not in client.session


def test_retention_records_its_cancellations_by_the_system_and_by_the_operators_command(
    agency, settings
):
    settings.BOOKING_RETENTION_DAYS = 1
    ended = timezone.now() - timedelta(days=3)
    viewing = make_viewing(agency, starts_at=ended - timedelta(hours=1), ends_at=ended)
    nightly = make_booking(viewing, status=Status.FAILED)
    apply_retention()
    by_hand = make_booking(viewing, status=Status.FAILED)

    call_command("apply_retention")

    assert trail(nightly) == [("Viewing Bridge", "Cancelled past its retention period")]
    assert trail(by_hand) == [
        ("the operator (management command)", "Cancelled past its retention period")
    ]


def test_the_buyers_cancel_on_their_status_page_is_recorded_as_the_buyers(client, agency):
    waiting = make_booking(agency, status=Status.QUEUED)
    delivered = make_booking(agency, status=Status.DELIVERED, email="bo@example.se")

    for booking in (waiting, delivered):
        client.post(reverse("buyer-cancel", args=[status_token(booking)]))

    assert trail(waiting) == [("the buyer", "Cancelled on the buyer's status page")]
    assert trail(delivered) == [("the buyer", "Asked to cancel on the buyer's status page")]


def test_the_buyers_second_cancel_request_records_nothing_more(client, agency):
    delivered = make_booking(agency, status=Status.DELIVERED)

    for _ in range(2):
        client.post(reverse("buyer-cancel", args=[status_token(delivered)]))

    assert len(trail(delivered)) == 1


def test_an_email_to_the_buyer_is_recorded_with_its_kind(agency, mailoutbox):
    booking = make_booking(agency, status=Status.REJECTED)

    send_buyer_email(booking.pk, Status.REJECTED)

    assert len(mailoutbox) == 1
    assert trail(booking) == [
        ("Viewing Bridge", "Email sent to the buyer by the worker (Rejected by broker system)")
    ]


def test_a_receipt_and_a_correction_are_recorded_by_what_they_are(agency, mailoutbox):
    booking = make_booking(agency, status=Status.DELIVERED, buyer_notified_at=timezone.now())

    send_receipt_email(booking.pk)
    send_correction_email(booking.pk)

    assert len(mailoutbox) == 2
    assert trail(booking) == [
        ("Viewing Bridge", "Email sent to the buyer by the worker (receipt)"),
        (
            "Viewing Bridge",
            "Email sent to the buyer by the worker (correction: delivered after all)",
        ),
    ]


def test_an_email_not_sent_is_not_recorded(agency, mailoutbox):
    booking = make_booking(agency, status=Status.REJECTED, buyer_notified_at=timezone.now())

    send_buyer_email(booking.pk, Status.REJECTED)

    assert mailoutbox == []
    assert trail(booking) == []


# --- the timeline on the booking's page ----------------------------------------------------


def test_the_timeline_shows_how_a_booking_came_in_through_the_api_and_its_consent(
    client, slot_viewing, api_key
):
    post_booking_api(client, api_key)
    booking = Booking.objects.get()
    superuser = make_user_in_role("superuser", slot_viewing.agency)

    received = timeline_of(signed_in(client, superuser), booking)[0]

    key = ApiKey.objects.get()
    assert received == (
        "the buyer",
        f"Received through Intake API, API key {key}; consent given (text version "
        f"{booking.consent_text_version[:12]})",
    )


def test_the_timeline_shows_the_staff_member_who_entered_a_booking_by_phone(client, agency, maja):
    booking = make_booking(agency, entered_by=maja, lawful_basis=Booking.LawfulBasis.ASKED_BY_PHONE)

    received = timeline_of(signed_in(client, maja), booking)[0]

    assert received == (
        "Maja Lind",
        "Received through Admin; lawful basis: The buyer asked by phone",
    )


def test_the_timeline_puts_attempts_staff_actions_buyer_actions_and_emails_in_order(
    client, agency, maja, mailoutbox
):
    booking = make_booking(agency, status=Status.FAILED)
    booking.attempts.create(endpoint="POST /v3/viewings", http_status=503, outcome="retry")
    signed_in(client, maja).post(
        reverse("admin:bookings_booking_act", args=[booking.pk, "cancel"]), {"post": "yes"}
    )
    send_buyer_email(booking.pk, Status.CANCELLED)

    events = timeline_of(client, booking)

    assert [who for who, _ in events] == [
        "—",
        "Viewing Bridge",
        "Maja Lind",
        "Viewing Bridge",
    ]
    assert events[1][1] == "Delivery attempt: POST /v3/viewings → 503 (Try again later)"
    assert events[2][1] == "Cancelled on the booking's page"
    assert events[3][1] == "Email sent to the buyer by the worker (Cancelled)"


def test_the_timeline_costs_the_same_queries_however_long_the_bookings_history(
    client, agency, maja
):
    short, long = make_booking(agency), make_booking(agency)
    by = By(maja, Door.PAGE)
    for _ in range(audit.TIMELINE_LIMIT + 20):
        audit.record(by, [long], Action.SEND_NOW)
        long.attempts.create(endpoint="POST /v3/viewings", outcome="retry")
    signed_in(client, maja)
    client.get(change_url(short))  # the session and content types are cached from here on

    queries = []
    for booking in (short, long):
        with CaptureQueriesContext(connection) as captured:
            events = timeline_of(client, booking)
        queries.append(len(captured))

    assert queries[0] == queries[1]
    assert len(events) == 1 + 2 * audit.TIMELINE_LIMIT


# --- who sees which entries ---------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_its_agencys_actions_in_history_and_timeline(client, agency, maja, role):
    booking = make_booking(agency, status=Status.FAILED)
    staff_client = signed_in(client, maja)
    staff_client.post(reverse("admin:bookings_booking_act", args=[booking.pk, "resend"]))
    viewer = make_user_in_role(role, agency)

    signed_in(client, viewer)
    history = client.get(history_url(booking)).content.decode()

    assert (
        "Maja Lind" in history and "Queued to be sent again on the booking&#x27;s page" in history
    )
    assert ("Maja Lind", "Queued to be sent again on the booking's page") in timeline_of(
        client, booking
    )


@pytest.mark.parametrize("role", ["administrator", "staff", "staff_here_administrator_there"])
def test_no_role_sees_another_agencys_entries(client, agency, role):
    other = make_agency(name="Andra mäklare")
    booking = make_booking(other, status=Status.FAILED)
    audit.record(By(make_staff_user(other), Door.PAGE), [booking], Action.RESEND)

    signed_in(client, make_user_in_role(role, agency))

    assert client.get(history_url(booking)).status_code == 404
    assert client.get(change_url(booking)).status_code == 404


def test_a_user_with_roles_in_two_agencies_sees_the_entries_of_both(client, agency):
    other = make_agency(name="Andra mäklare")
    user = make_user_in_role("staff_here_administrator_there", agency, other)
    bookings = [make_booking(each, status=Status.FAILED) for each in (agency, other)]
    for booking in bookings:
        audit.record(By(Actor.OPERATOR, Door.ERASURE), [booking], Action.CANCEL)

    signed_in(client, user)

    for booking in bookings:
        assert ("the operator (management command)", "Cancelled for an erasure request") in (
            timeline_of(client, booking)
        )


# --- erasure --------------------------------------------------------------------------------


def test_erasing_keeps_what_was_done_but_no_buyer_data_in_the_log(client, agency, maja):
    booking = make_booking(
        agency, status=Status.FAILED, first_name="Björn", email="bjorn@example.se"
    )
    signed_in(client, maja).post(reverse("admin:bookings_booking_act", args=[booking.pk, "resend"]))

    call_command("erase_buyer", "bjorn@example.se")

    entries = LogEntry.objects.filter(object_id=str(booking.pk))
    assert not any(
        "Björn" in text or "bjorn@example.se" in text
        for entry in entries
        for text in (entry.object_repr, entry.change_message)
    )
    assert trail(booking)[0] == ("Maja Lind", "Queued to be sent again on the booking's page")


def test_an_entry_of_an_action_this_version_does_not_know_shows_its_code(agency, maja):
    booking = make_booking(agency)
    LogEntry.objects.create(
        user=maja,
        content_type=ContentType.objects.get_for_model(Booking),
        object_id=str(booking.pk),
        object_repr="#",
        action_flag=CHANGE,
        change_message='[{"audit": {"action": "teleport", "door": "portal"}}]',
    )

    assert trail(booking) == [("Maja Lind", "teleport portal")]
