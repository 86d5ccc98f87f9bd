"""Every row of docs/design.md's outcome table, for both providers, over real HTTP."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from agencies.models import CredentialStatus, Provider
from bookings.delivery.sending import deliver
from bookings.models import Booking
from tests.factories import in_english, make_booking

Status = Booking.Status
BOTH = pytest.mark.parametrize("system", [Provider.MSPECS, Provider.VITEC])


def refreshed(booking):
    booking.refresh_from_db()
    return booking


@pytest.mark.django_db
def test_mspecs_ordinary_viewing_is_posted_to_the_viewing(make_agency, sandbox):
    booking = make_booking(make_agency(Provider.MSPECS), viewing_id="v-7")

    assert deliver(booking.pk) == "delivered"

    [received] = sandbox.received("mspecs")
    assert received["path"] == "/mspecs/v3/viewings/externalViewer/v-7"
    assert received["body"] == {
        "firstName": "Anna",
        "lastName": "Andersson",
        "email": booking.email,
        "phoneNumber": "+46701111111",
    }
    booking = refreshed(booking)
    assert booking.status == Status.DELIVERED
    assert booking.delivered_at is not None
    assert booking.provider_reference == ""  # MSPECS answers 200 without a body
    assert booking.attempt_count == 1
    assert booking.claimed_until is None


@pytest.mark.django_db
def test_mspecs_time_slot_viewing_is_posted_to_the_slot(make_agency, sandbox):
    sandbox.set_deal("deal-1", {"slot-9": 5})
    booking = make_booking(
        make_agency(Provider.MSPECS), viewing_id="v-7", slot_id="slot-9", time_slots=True
    )

    assert deliver(booking.pk) == "delivered"

    [received] = sandbox.received("mspecs")
    deal = booking.viewing.mspecs_deal_id  # the provider API's route is the deal's
    assert received["path"] == f"/mspecs/api/marketing/deals/{deal}/externalViewer/v-7/slot/slot-9"
    assert sandbox.quarantine("v-7", "slot-9")[booking.email]["firstName"] == "Anna"


@pytest.mark.django_db
def test_vitec_participant_carries_the_agency_defaults(make_agency, sandbox):
    agency = make_agency(
        Provider.VITEC,
        vitec_lead_source_id="lead-42",
        vitec_sms_reminder=True,
        vitec_reminder_minutes=60,
    )
    consent = timezone.now() - timedelta(minutes=5)
    booking = make_booking(
        agency, viewing_id="v-1", slot_id="t-2", message="Hej!", consent_given_at=consent
    )

    assert deliver(booking.pk) == "delivered"

    [received] = sandbox.received("vitec")
    assert received["path"] == "/vitec/Viewing/sandbox-customer/v-1/t-2/Participant"
    body = received["body"]
    assert body["updatePerson"] == {
        "firstName": "Anna",
        "lastName": "Andersson",
        "email": {"emailAddress": booking.email},
        "cellPhone": "+46701111111",
        "gdprApprovalDate": consent.isoformat(),
    }
    assert body["contactMessage"] == "Hej!"
    assert body["leadSourceId"] == "lead-42"
    assert (body["smsReminder"], body["reminderTime"], body["returnBookingId"]) == (True, 60, True)
    assert body["options"] == {
        "isDeadlineValidationEnabled": True,
        "enableBookingLimitValidation": True,
    }
    assert refreshed(booking).provider_reference == received["id"]


@pytest.mark.django_db
def test_vitec_participant_without_consent_has_no_gdpr_date(make_agency, sandbox):
    booking = make_booking(make_agency(Provider.VITEC))

    deliver(booking.pk)

    assert "gdprApprovalDate" not in sandbox.received("vitec")[0]["body"]["updatePerson"]


@pytest.mark.parametrize(
    ("system", "bad_data", "field"),
    [
        (Provider.VITEC, {"first_name": " "}, "participant.UpdatePerson.FirstName"),
    ],
)
@pytest.mark.django_db
def test_validation_error_rejects_with_the_providers_field_errors(
    system, bad_data, field, make_agency
):
    booking = make_booking(make_agency(system), **bad_data)

    assert deliver(booking.pk) == "rejected"

    booking = refreshed(booking)
    assert booking.status == Status.REJECTED
    assert list(booking.provider_errors) == [field]
    assert field in in_english(booking.last_problem)
    assert booking.attempts.get().http_status == 400


@pytest.mark.django_db
def test_vitec_booking_limit_marks_the_slot_fully_booked(make_agency, sandbox):
    sandbox.set_vitec_capacity("t-full", 0)
    booking = make_booking(make_agency(Provider.VITEC), slot_id="t-full")

    assert deliver(booking.pk) == "rejected"

    booking = refreshed(booking)
    assert booking.status == Status.REJECTED
    assert in_english(booking.last_problem) == "The slot is fully booked in the broker system."
    assert booking.slot.fully_booked is True


@BOTH
@pytest.mark.django_db
def test_viewing_gone_rejects(system, make_agency, sandbox):
    sandbox.remove_viewing("v-gone")
    booking = make_booking(make_agency(system), viewing_id="v-gone")

    assert deliver(booking.pk) == "rejected"

    booking = refreshed(booking)
    assert booking.status == Status.REJECTED
    assert "no longer exists" in in_english(booking.last_problem)


@BOTH
@pytest.mark.django_db
def test_refused_credential_holds_the_booking_and_marks_it_failing(system, make_agency):
    booking = make_booking(make_agency(system, secret="wrong"))

    assert deliver(booking.pk) == "auth_failed"

    booking = refreshed(booking)
    assert booking.status == Status.HELD
    assert booking.attempts.get().http_status == 401
    credential = booking.viewing.agency.credential
    credential.refresh_from_db()
    assert credential.status == CredentialStatus.FAILING


@pytest.mark.django_db
def test_vitec_customer_without_access_holds_the_booking(make_agency):
    booking = make_booking(make_agency(Provider.VITEC, vitec_customer_id="other"))

    deliver(booking.pk)

    booking = refreshed(booking)
    assert booking.status == Status.HELD
    assert booking.attempts.get().http_status == 403


@BOTH
@pytest.mark.django_db
def test_a_failing_credential_holds_the_agencys_other_bookings_without_calling(
    system, make_agency, sandbox
):
    agency = make_agency(system, secret="wrong")
    first, second, third = (make_booking(agency) for _ in range(3))

    deliver(first.pk)
    deliver(second.pk)

    assert sandbox.requests_served == 1
    for booking in (second, third):
        booking = refreshed(booking)
        assert booking.status == Status.HELD
        assert booking.attempt_count == 0
        assert not booking.attempts.exists()


@BOTH
@pytest.mark.django_db
@override_settings(DELIVERY_RETRY_SCHEDULE=[30, 120])
def test_server_error_retries_on_the_schedule_with_jitter(system, make_agency, sandbox):
    sandbox.set_fault("status", status=503)
    booking = make_booking(make_agency(system))
    before = timezone.now()

    assert deliver(booking.pk) == "retry"

    booking = refreshed(booking)
    assert booking.status == Status.RETRYING
    assert booking.attempt_count == 1
    wait = (booking.next_attempt_at - before).total_seconds()
    assert 30 * 0.8 - 1 <= wait <= 30 * 1.2 + 1


@BOTH
@pytest.mark.django_db
@override_settings(DELIVERY_RETRY_SCHEDULE=[1])
def test_too_many_requests_honours_retry_after(system, make_agency, sandbox):
    sandbox.set_fault("status", status=429, retry_after=120)
    booking = make_booking(make_agency(system))
    before = timezone.now()

    deliver(booking.pk)

    booking = refreshed(booking)
    assert booking.status == Status.RETRYING
    assert (booking.next_attempt_at - before).total_seconds() >= 120


@pytest.mark.django_db
def test_dropped_connection_retries_on_mspecs(make_agency, sandbox):
    sandbox.set_fault("drop")
    booking = make_booking(make_agency(Provider.MSPECS))

    assert deliver(booking.pk) == "answer_lost"

    booking = refreshed(booking)
    assert booking.status == Status.RETRYING
    assert "unreachable" in in_english(booking.last_problem)
    assert booking.attempts.get().http_status is None


@pytest.mark.django_db
def test_dropped_connection_needs_review_on_vitec(make_agency, sandbox):
    # The request was sent before the connection dropped: Vitec may have added the
    # participant, and a second post would add another.
    sandbox.set_fault("drop")
    booking = make_booking(make_agency(Provider.VITEC))

    assert deliver(booking.pk) == "needs_review"

    assert refreshed(booking).status == Status.NEEDS_REVIEW


@pytest.mark.django_db
def test_unreachable_vitec_is_retried(make_agency):
    agency = make_agency(Provider.VITEC)
    agency.credential.base_url = "http://127.0.0.1:9/vitec"  # nothing listens: never sent
    agency.credential.save()
    booking = make_booking(agency)

    assert deliver(booking.pk) == "retry"


@pytest.mark.django_db
@override_settings(DELIVERY_RETRY_SCHEDULE=[0, 0])
def test_booking_fails_after_the_last_scheduled_attempt(make_agency, sandbox):
    sandbox.set_fault("status", status=500)
    booking = make_booking(make_agency(Provider.MSPECS))

    outcomes = [deliver(booking.pk) for _ in range(3)]

    assert outcomes == ["retry", "retry", "retry"]
    booking = refreshed(booking)
    assert booking.status == Status.FAILED
    assert booking.attempt_count == 3
    assert "Gave up after 3 attempts" in in_english(booking.last_problem)


@pytest.mark.django_db
@override_settings(BROKER_READ_TIMEOUT=0.3)
def test_vitec_read_timeout_needs_review(make_agency, sandbox):
    sandbox.set_fault("hang", hang_seconds=1)
    booking = make_booking(make_agency(Provider.VITEC))

    assert deliver(booking.pk) == "needs_review"

    booking = refreshed(booking)
    assert booking.status == Status.NEEDS_REVIEW
    assert len(sandbox.received("vitec")) == 1  # it did land: staff must not re-post blindly


@pytest.mark.django_db
@override_settings(BROKER_READ_TIMEOUT=0.3)
def test_mspecs_read_timeout_retries_because_mspecs_merges_repeats(make_agency, sandbox):
    sandbox.set_fault("hang", hang_seconds=1)
    booking = make_booking(make_agency(Provider.MSPECS))

    assert deliver(booking.pk) == "answer_lost"
    assert refreshed(booking).status == Status.RETRYING


@pytest.mark.django_db
def test_a_booking_not_due_is_skipped(make_agency, sandbox):
    booking = make_booking(
        make_agency(), status=Status.RETRYING, next_attempt_at=timezone.now() + timedelta(hours=1)
    )

    assert deliver(booking.pk) is None
    assert sandbox.requests_served == 0


@pytest.mark.django_db
def test_a_delivered_booking_is_never_sent_again(make_agency, sandbox):
    booking = make_booking(make_agency())

    deliver(booking.pk)
    deliver(booking.pk)

    assert len(sandbox.received()) == 1


@pytest.mark.django_db
def test_a_fault_in_our_own_code_fails_the_booking_instead_of_leaving_it_claimed(
    make_agency, sandbox
):
    booking = make_booking(make_agency(Provider.VITEC))
    Booking.objects.filter(pk=booking.pk).update(slot=None)  # Vitec cannot do without

    with pytest.raises(AttributeError):
        deliver(booking.pk)

    booking = refreshed(booking)
    assert (booking.status, booking.claimed_until) == (Status.FAILED, None)
    assert "Internal error" in in_english(booking.last_problem)
    assert sandbox.requests_served == 0


# --- Vitec error bodies, whatever the case of their keys ------------------------------------

CELL_PHONE = "participant.UpdatePerson.CellPhone"


@pytest.mark.parametrize(
    "body",
    [
        {"Message": "The request is invalid.", "ModelState": {CELL_PHONE: ["Invalid phone."]}},
        {"message": "The request is invalid.", "modelState": {CELL_PHONE: ["Invalid phone."]}},
        {"message": "The request is invalid.", "modelstate": {CELL_PHONE: "Invalid phone."}},
    ],
)
@pytest.mark.django_db
def test_vitec_field_errors_are_read_in_any_case(body, make_agency, sandbox):
    booking = make_booking(make_agency(Provider.VITEC))
    sandbox.set_fault(status=400, count=1, body=body)

    assert deliver(booking.pk) == "rejected"

    booking = refreshed(booking)
    assert booking.provider_errors == {CELL_PHONE: ["Invalid phone."]}
    assert "Invalid phone." in in_english(booking.last_problem)


@pytest.mark.parametrize("key", ["Message", "message", "MESSAGE"])
@pytest.mark.django_db
def test_a_vitec_message_without_field_errors_is_kept_in_any_case(key, make_agency, sandbox):
    booking = make_booking(make_agency(Provider.VITEC))
    sandbox.set_fault(status=400, count=1, body={key: "The viewing is closed."})

    deliver(booking.pk)

    assert refreshed(booking).provider_errors == {"": ["The viewing is closed."]}


@pytest.mark.parametrize(
    ("model_state_key", "limit_key"),
    [
        ("ModelState", "BookingLimit"),
        ("modelState", "bookingLimit"),
        ("modelState", "bookinglimit"),
    ],
)
@pytest.mark.django_db
def test_a_vitec_booking_limit_error_in_any_case_marks_the_slot_full(
    model_state_key, limit_key, make_agency, sandbox
):
    booking = make_booking(make_agency(Provider.VITEC))
    sandbox.set_fault(
        status=400,
        count=1,
        body={"message": "The request is invalid.", model_state_key: {limit_key: ["Fullbokat."]}},
    )

    assert deliver(booking.pk) == "rejected"

    booking = refreshed(booking)
    assert in_english(booking.last_problem) == "The slot is fully booked in the broker system."
    assert booking.slot.fully_booked


@BOTH
@pytest.mark.django_db
def test_a_redirect_whose_location_is_not_utf8_is_a_rejection_not_an_internal_error(
    system, make_agency, sandbox
):
    booking = make_booking(make_agency(system))
    # Sent as Latin-1 on the wire: the byte 0xF6 alone is not UTF-8.
    sandbox.set_fault(status=302, count=1, body="", headers={"Location": "/gå-vidare"})

    assert deliver(booking.pk) == "rejected"
    assert "HTTP 302" in in_english(refreshed(booking).last_problem)
