"""Erasing a buyer (an erasure request): every row holding their email, in the agencies the
user administers, anonymised in one audited step; the statistics stay."""

import json

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.urls import reverse

from agencies.models import Membership
from bookings.delivery.staff_actions import cancel
from bookings.models import (
    Booking,
    DataRequest,
    DeliveryAttempt,
    QuarantineDecision,
)
from bookings.privacy.subject import BuyerData, email_digest, erase
from tests.conftest import stored_anywhere
from tests.factories import (
    by_staff,
    delivered_booking,
    make_booking,
    make_staff_user,
    make_viewing,
)
from tests.viewing_import import test_webhook as webhook

EMAIL = "anna@example.se"
PHONE = "+46701234567"
LOOKUP_URL = "/admin/bookings/datarequest/buyer/"


@pytest.fixture
def bookings(agency_a, agency_b):
    """The buyer's delivered booking at each agency (with an attempt, an admin log entry and
    a quarantine decision), and another buyer's booking at A."""
    found = {}
    for name, agency in (("a", agency_a), ("b", agency_b)):
        viewing = make_viewing(agency, title=f"Street {name}")
        booking = delivered_booking(
            viewing, email=EMAIL, first_name="Anna", phone=PHONE, message=f"Message {name}"
        )
        DeliveryAttempt.objects.create(
            booking=booking,
            endpoint="POST /v3/viewings",
            http_status=200,
            outcome="delivered",
            response_excerpt='{"name": "Anna Andersson"}',
        )
        LogEntry.objects.create(
            content_type=ContentType.objects.get_for_model(Booking),
            object_id=str(booking.pk),
            object_repr=str(booking),
            action_flag=CHANGE,
            change_message=f"Changed phone to {PHONE}",
            user=make_staff_user(agency),
        )
        QuarantineDecision.objects.create(viewing=viewing, email=EMAIL, decision="approved")
        found[name] = booking
    found["other"] = delivered_booking(found["a"].viewing, email="bo@example.se", first_name="Bo")
    return found


def client_for(client, user):
    client.force_login(user)
    return client


def erase_in_admin(client, email=EMAIL, confirm=True):
    data = {"email": email, "action": "erase", **({"confirm": "on"} if confirm else {})}
    return client.post(LOOKUP_URL, data)


def refreshed(booking):
    booking.refresh_from_db()
    return booking


# --- what erasing does --------------------------------------------------------------------


def test_erasing_anonymises_the_buyers_personal_fields(bookings, agency_a):
    erase(BuyerData(EMAIL, agency_a.__class__.objects.all()))

    booking = refreshed(bookings["a"])
    assert (booking.first_name, booking.last_name, booking.phone, booking.message) == ("",) * 4
    assert booking.email == f"booking-{booking.pk}@erased.invalid"
    assert booking.anonymised_at is not None


def test_erasing_keeps_the_bookings_statistics(bookings, agency_a):
    before = refreshed(bookings["a"])

    erase(BuyerData(EMAIL, type(agency_a).objects.all()))

    after = refreshed(bookings["a"])
    for field in ("status", "viewing_id", "slot_id", "created_at", "delivered_at", "source"):
        assert getattr(after, field) == getattr(before, field)


def test_erasing_leaves_other_buyers_alone(bookings, agency_a):
    erase(BuyerData(EMAIL, type(agency_a).objects.all()))

    assert refreshed(bookings["other"]).first_name == "Bo"


def test_erasing_blanks_the_delivery_attempts_excerpts_and_keeps_their_outcome(bookings, agency_a):
    erase(BuyerData(EMAIL, type(agency_a).objects.all()))

    attempt = DeliveryAttempt.objects.get(booking=bookings["a"])
    assert attempt.response_excerpt == ""
    assert (attempt.http_status, attempt.outcome) == (200, "delivered")


def test_erasing_anonymises_the_quarantine_decisions(bookings, agency_a):
    erase(BuyerData(EMAIL, type(agency_a).objects.all()))

    assert not QuarantineDecision.objects.filter(email=EMAIL).exists()
    assert QuarantineDecision.objects.count() == 2


def test_erasing_rewrites_the_admin_log_entries_of_the_bookings(bookings, agency_a):
    erase(BuyerData(EMAIL, type(agency_a).objects.all()))

    entry = LogEntry.objects.filter(object_id=str(bookings["a"].pk)).earliest("pk")
    assert "Anna" not in entry.object_repr and EMAIL not in entry.object_repr
    assert entry.change_message == ""
    assert entry.action_flag == CHANGE


@pytest.mark.parametrize("status", [*Booking.Status.waiting(), *Booking.Status.stopped()], ids=str)
def test_a_booking_not_delivered_is_cancelled_before_it_is_erased(agency_a, status):
    """Nothing may send it once its data is gone: a held one resumes by itself, a stopped
    one on Re-send."""
    booking = make_booking(make_viewing(agency_a), email=EMAIL, status=status)

    counts = erase(BuyerData(EMAIL, type(agency_a).objects.all()))

    booking = refreshed(booking)
    assert booking.status == Booking.Status.CANCELLED
    assert booking.anonymised_at is not None
    assert counts[agency_a]["cancelled"] == 1


def test_a_booking_being_sent_right_now_is_left_and_counted(agency_a):
    booking = make_booking(make_viewing(agency_a), email=EMAIL, status=Booking.Status.SENDING)

    counts = erase(BuyerData(EMAIL, type(agency_a).objects.all()))

    assert refreshed(booking).email == EMAIL
    assert counts[agency_a]["being_sent"] == 1


def test_the_email_is_found_whatever_its_case_and_surrounding_space(bookings, agency_a):
    erase(BuyerData("  ANNA@Example.se ", type(agency_a).objects.all()))

    assert refreshed(bookings["a"]).anonymised_at is not None


def test_a_row_stored_with_capitals_before_normalisation_is_found(agency_a):
    booking = make_booking(make_viewing(agency_a), email="Anna@Example.SE")
    Booking.objects.filter(pk=booking.pk).update(email="Anna@Example.SE")

    erase(BuyerData(EMAIL, type(agency_a).objects.all()))

    assert refreshed(booking).anonymised_at is not None


def test_the_buyer_may_book_the_same_time_again_after_erasure(agency_a):
    viewing = make_viewing(agency_a)
    first = delivered_booking(viewing, email=EMAIL)
    second_buyer = delivered_booking(viewing, email="other@example.se")
    erase(BuyerData(EMAIL, type(agency_a).objects.all()))
    erase(BuyerData("other@example.se", type(agency_a).objects.all()))

    again = make_booking(viewing, email=EMAIL)

    assert again.pk not in (first.pk, second_buyer.pk)
    assert Booking.objects.filter(viewing=viewing, status__in=Booking.Status.live()).count() == 3


def test_an_erased_booking_cannot_be_cancelled_into_a_duplicate(agency_a):
    viewing = make_viewing(agency_a)
    erased = delivered_booking(viewing, email=EMAIL)
    erase(BuyerData(EMAIL, type(agency_a).objects.all()))

    assert cancel(Booking.objects.filter(pk=erased.pk), by_staff()).done == 0  # delivered: final


def test_erasure_is_recorded_per_agency_without_the_email(bookings, agency_a, agency_b):
    user = make_staff_user(agency_a, role=Membership.Role.ADMIN)

    erase(BuyerData(EMAIL, type(agency_a).objects.all()), user=user)

    records = DataRequest.objects.order_by("agency__slug")
    assert [record.agency for record in records] == [agency_a, agency_b]
    record = records[0]
    assert (record.kind, record.performed_by, record.channel) == ("erasure", user, "admin")
    assert record.counts["bookings"] == 1 and record.counts["delivery_attempts"] == 1
    assert record.counts["admin_log_entries"] == 1 and record.counts["quarantine_decisions"] == 1
    assert record.email_digest == email_digest(EMAIL)
    assert EMAIL not in json.dumps(list(DataRequest.objects.values()), default=str)


def test_erasing_an_unknown_email_records_nothing(bookings, agency_a):
    assert erase(BuyerData("nobody@example.se", type(agency_a).objects.all())) == {}
    assert not DataRequest.objects.exists()


# --- the admin page, for every role -------------------------------------------------------


def test_a_superuser_erases_the_buyer_in_every_agency(admin_client, bookings):
    response = erase_in_admin(admin_client)

    assert response.status_code == 302
    assert refreshed(bookings["a"]).anonymised_at and refreshed(bookings["b"]).anonymised_at


def test_an_agency_administrator_sees_only_their_agencys_rows(client, bookings, agency_a):
    client_for(client, make_staff_user(agency_a, role=Membership.Role.ADMIN))

    response = client.get(LOOKUP_URL, {"email": EMAIL})

    assert response.status_code == 200
    assert "Message a" in response.text
    assert "Message b" not in response.text
    assert "Agency B" not in response.text


def test_an_agency_administrator_erases_only_their_agencys_rows(client, bookings, agency_a):
    client_for(client, make_staff_user(agency_a, role=Membership.Role.ADMIN))

    erase_in_admin(client)

    assert refreshed(bookings["a"]).anonymised_at is not None
    assert refreshed(bookings["b"]).email == EMAIL
    assert QuarantineDecision.objects.filter(email=EMAIL).count() == 1
    assert list(DataRequest.objects.values_list("agency__slug", flat=True)) == ["agency-a"]


@pytest.mark.parametrize("method", ["get", "post"])
def test_staff_may_not_look_up_or_erase_a_buyer(client, bookings, agency_a, method):
    client_for(client, make_staff_user(agency_a))

    response = getattr(client, method)(
        LOOKUP_URL, {"email": EMAIL, "action": "erase", "confirm": "on"}
    )

    assert response.status_code == 403
    assert refreshed(bookings["a"]).email == EMAIL


def test_staff_do_not_see_the_data_requests_in_the_admin(client, agency_a):
    client_for(client, make_staff_user(agency_a))

    assert client.get(reverse("admin:bookings_datarequest_changelist")).status_code == 403


def test_administrator_of_one_agency_and_staff_of_another_reaches_only_the_first(
    client, bookings, agency_a, agency_b
):
    user = make_staff_user(agency_a, role=Membership.Role.ADMIN)
    Membership.objects.create(user=user, agency=agency_b, role=Membership.Role.STAFF)
    client_for(client, user)

    erase_in_admin(client)

    assert refreshed(bookings["a"]).anonymised_at is not None
    assert refreshed(bookings["b"]).anonymised_at is None


def test_erasing_without_confirming_erases_nothing(admin_client, bookings):
    response = erase_in_admin(admin_client, confirm=False)

    assert response.status_code == 200
    assert 'class="errorlist' in response.text
    assert refreshed(bookings["a"]).email == EMAIL


@pytest.mark.parametrize(
    "email", ["not-an-email", "anna\x00@example.se", "a" * 250 + "@example.se", ""]
)
def test_a_bad_email_is_a_form_error_and_erases_nothing(admin_client, bookings, email):
    response = erase_in_admin(admin_client, email=email)

    assert response.status_code == 200
    assert 'class="errorlist' in response.text
    assert not Booking.objects.filter(anonymised_at__isnull=False).exists()


def test_the_data_requests_list_shows_only_the_administered_agencies(client, bookings, agency_a):
    erase(BuyerData(EMAIL, type(agency_a).objects.all()))
    client_for(client, make_staff_user(agency_a, role=Membership.Role.ADMIN))

    response = client.get(reverse("admin:bookings_datarequest_changelist"))

    assert response.status_code == 200
    assert "Agency A" in response.text and "Agency B" not in response.text
    assert EMAIL not in response.text


# --- what MSPECS pushed -----------------------------------------------------------------


@pytest.fixture
def pushed(client, settings, agency_a):
    """A signed MSPECS VIEWING event to agency A whose data carries the buyer."""
    settings.MSPECS_WEBHOOK_SECRET = webhook.SECRET
    agency_a.credential.mspecs_subscriber_id = webhook.SUBSCRIBER
    agency_a.credential.save()
    buyer = {"name": "Anna", "email": EMAIL, "phone": PHONE}
    payload = webhook.event(eventData={"viewings": [{"id": "v", "buyers": [buyer]}]})
    assert webhook.post(client, payload).status_code == 200


def test_erasing_in_the_admin_leaves_the_buyer_nowhere_webhook_events_included(
    admin_client, bookings, pushed
):
    erase_in_admin(admin_client)

    assert not stored_anywhere(EMAIL) and not stored_anywhere(PHONE)


def test_erase_buyer_leaves_the_buyer_nowhere_webhook_events_included(bookings, pushed):
    call_command("erase_buyer", EMAIL)

    assert not stored_anywhere(EMAIL) and not stored_anywhere(PHONE)


# --- the management command ---------------------------------------------------------------


def test_the_command_erases_in_every_agency(bookings, capsys):
    call_command("erase_buyer", EMAIL)

    assert refreshed(bookings["a"]).anonymised_at and refreshed(bookings["b"]).anonymised_at
    assert "agency-a: " in capsys.readouterr().out
    assert set(DataRequest.objects.values_list("channel", flat=True)) == {"command"}


def test_the_command_erases_in_one_agency_when_asked(bookings):
    call_command("erase_buyer", EMAIL, "--agency", "agency-b")

    assert refreshed(bookings["a"]).anonymised_at is None
    assert refreshed(bookings["b"]).anonymised_at is not None


def test_the_commands_dry_run_lists_and_changes_nothing(bookings, capsys):
    call_command("erase_buyer", EMAIL, "--dry-run")

    out = capsys.readouterr().out
    assert "dry run" in out and "bookings=1" in out
    assert refreshed(bookings["a"]).email == EMAIL
    assert not DataRequest.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not-an-email"], "Not an email address"),
        (["anna\x00@example.se"], "Not an email address"),
        ([EMAIL, "--agency", "no-such-agency"], "No agency"),
    ],
)
def test_the_command_refuses_bad_input(bookings, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("erase_buyer", *args)
    assert refreshed(bookings["a"]).email == EMAIL
