"""Held bookings and their credential: refused, corrected, tested, resumed."""

import pytest

from agencies.models import CredentialStatus, Provider, ProviderCredential
from bookings.delivery import sending
from bookings.delivery.credentials import check_credential, save_credential
from bookings.delivery.sending import deliver
from bookings.models import Booking
from bookings.providers import client_for
from tests.factories import by_staff, make_booking, make_slot_viewing

Status = Booking.Status
BOTH = pytest.mark.parametrize("system", [Provider.MSPECS, Provider.VITEC])


@pytest.mark.django_db
def test_connection_check_reading_a_deal_with_a_good_credential_marks_it_working(
    make_agency, sandbox
):
    agency = make_agency(Provider.MSPECS)
    sandbox.set_deal("deal-1", {"a1": 5})
    make_slot_viewing(agency, "deal-1", ["a1"])

    check = check_credential(agency.credential, by_staff())

    assert check.ok is True
    assert check.record.status == 200  # the agency's own deal: the login was checked
    assert check.message.startswith("Accepted")
    agency.credential.refresh_from_db()
    assert agency.credential.status == CredentialStatus.OK


@pytest.mark.django_db
def test_connection_check_answered_404_says_the_login_is_not_verified(make_agency):
    # MSPECS without a deal to read: a 404 may come before any login check, so it proves
    # nothing.
    credential = make_agency(Provider.MSPECS).credential

    check = check_credential(credential, by_staff())

    assert check.ok is None
    assert check.record.status == 404
    assert check.message.startswith("Reachable, login not verified")
    credential.refresh_from_db()
    assert credential.status == CredentialStatus.UNTESTED


@pytest.mark.django_db
def test_vitec_connection_check_reads_the_estate_list_and_proves_the_login(make_agency, sandbox):
    credential = make_agency(Provider.VITEC).credential

    check = check_credential(credential, by_staff())

    assert check.ok is True
    assert check.record.endpoint == "/Advertising/Estate/sandbox-customer?PageSize=1&PageIndex=0"
    assert check.message.startswith("Accepted")
    credential.refresh_from_db()
    assert credential.status == CredentialStatus.OK


@pytest.mark.django_db
def test_vitec_connection_check_for_a_customer_the_login_may_not_use_is_refused(make_agency):
    credential = make_agency(Provider.VITEC, vitec_customer_id="someone-else").credential

    check = check_credential(credential, by_staff())

    assert check.ok is False
    assert check.record.status == 403
    credential.refresh_from_db()
    assert credential.status == CredentialStatus.FAILING


@BOTH
@pytest.mark.django_db
def test_connection_check_answered_a_redirect_says_the_login_is_not_verified(
    system, make_agency, sandbox
):
    credential = make_agency(system).credential
    sandbox.set_fault("status", status=302, count=1)

    check = check_credential(credential, by_staff())

    assert check.ok is None
    assert check.message.startswith("Reachable, login not verified")


@BOTH
@pytest.mark.django_db
def test_connection_check_with_a_wrong_secret_marks_it_failing(system, make_agency):
    credential = make_agency(system, secret="wrong").credential

    check = check_credential(credential, by_staff())

    assert check.ok is False
    assert "401" in check.message
    credential.refresh_from_db()
    assert credential.status == CredentialStatus.FAILING


@pytest.mark.django_db
def test_connection_check_with_a_foreign_vitec_customer_is_refused(make_agency):
    credential = make_agency(Provider.VITEC, vitec_customer_id="someone-else").credential

    assert check_credential(credential, by_staff()).ok is False


@pytest.mark.django_db
def test_connection_check_while_the_provider_is_down_changes_nothing(make_agency, sandbox):
    credential = make_agency().credential
    sandbox.set_fault("status", status=502)

    check = check_credential(credential, by_staff())

    assert check.ok is None
    credential.refresh_from_db()
    assert credential.status == CredentialStatus.UNTESTED


@BOTH
@pytest.mark.django_db
def test_saving_a_corrected_secret_resumes_held_bookings(
    system, make_agency, sandbox, django_capture_on_commit_callbacks
):
    agency = make_agency(system, secret="wrong")
    bookings = [make_booking(agency) for _ in range(3)]
    for booking in bookings:
        deliver(booking.pk)
    credential = agency.credential
    credential.refresh_from_db()

    credential.secret = "sandbox-secret"
    with django_capture_on_commit_callbacks(execute=True):
        save_credential(credential)

    assert credential.status == CredentialStatus.UNTESTED
    assert set(Booking.objects.values_list("status", flat=True)) == {Status.QUEUED}
    for booking in bookings:
        assert deliver(booking.pk) == "delivered"
    assert len(sandbox.received()) == 3


@pytest.mark.django_db
def test_saving_a_failing_credential_unchanged_keeps_bookings_held(make_agency):
    agency = make_agency(secret="wrong")
    booking = make_booking(agency)
    deliver(booking.pk)
    credential = agency.credential
    credential.refresh_from_db()

    save_credential(credential)

    booking.refresh_from_db()
    assert booking.status == Status.HELD
    assert credential.status == CredentialStatus.FAILING


@pytest.mark.django_db
def test_a_successful_connection_test_resumes_held_bookings(
    make_agency, sandbox, django_capture_on_commit_callbacks
):
    agency = make_agency()
    sandbox.set_deal("deal-1", {"a1": 5})
    make_slot_viewing(agency, "deal-1", ["a1"])
    booking = make_booking(agency)
    sandbox.set_credential("sandbox", "rotated")  # the provider changed it...
    deliver(booking.pk)
    sandbox.set_credential("sandbox", "sandbox-secret")  # ...and changed it back

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        check = check_credential(agency.credential, by_staff())

    assert check.ok is True
    assert "1 held booking queued again" in check.message
    assert len(callbacks) == 1  # the booking's delivery task
    assert deliver(booking.pk) == "delivered"


@pytest.mark.django_db
def test_deliveries_reuse_one_session_per_credential(make_agency):
    agency = make_agency()
    first, second = make_booking(agency), make_booking(agency)

    deliver(first.pk)
    session = client_for(agency.credential).session
    deliver(second.pk)

    assert client_for(agency.credential).session is session
    assert len(session.adapters["http://"].poolmanager.pools) == 1


@pytest.mark.django_db
def test_an_edited_credential_gets_a_new_session(make_agency):
    credential = make_agency().credential
    before = client_for(credential)

    credential.username = "someone"
    credential.save()

    after = client_for(credential)
    assert after is not before
    assert after.session.auth == (b"someone", b"sandbox-secret")


@pytest.mark.django_db
def test_a_late_refusal_of_the_old_secret_leaves_the_fixed_credential_alone(make_agency):
    agency = make_agency(Provider.MSPECS, secret="wrong")
    booking = sending.claim(make_booking(agency).pk)
    refused = client_for(booking.viewing.agency.credential).deliver(booking)
    fixed = ProviderCredential.objects.get(agency=agency)
    fixed.secret = "sandbox-secret"
    fixed.save()  # corrected while the refused call was on its way back

    sending.apply_result(booking, booking.viewing.agency.credential, refused)

    fixed.refresh_from_db()
    assert fixed.status != CredentialStatus.FAILING
    assert Booking.objects.get(pk=booking.pk).status == Status.QUEUED
