"""Problems shown to staff are stored as a code plus parameters and read in the reader's
language (Swedish or English)."""

import pytest
from django.urls import reverse
from django.utils import translation

from agencies.models import Provider
from agencies.problems import LEGACY, Problem
from bookings.delivery.sending import deliver
from bookings.models import Booking
from bookings.problems import delivery as problems
from tests.factories import (
    in_english,
    make_agency,
    make_booking,
    make_staff_user,
    make_viewing,
    migrate_back_to,
    migrate_to_latest,
)


def in_swedish(problem) -> str:
    with translation.override("sv"):
        return str(problem)


@pytest.mark.django_db
def test_the_same_stored_problem_reads_in_swedish_and_english(sandbox):
    booking = make_booking(make_viewing(make_agency(Provider.MSPECS, sandbox=sandbox)))
    sandbox.set_fault(status=503, count=99)
    deliver(booking.pk)

    booking.refresh_from_db()
    assert booking.last_problem == problems.BUSY(status=503)
    assert in_english(booking.last_problem) == "Broker system busy or failing (HTTP 503)."
    assert (
        in_swedish(booking.last_problem)
        == "Mäklarsystemet är upptaget eller fungerar inte (HTTP 503)."
    )


def test_a_problem_inside_a_problem_reads_in_the_same_language():
    problem = problems.GAVE_UP(
        problem=problems.UNREACHABLE(answer=problems.READ_TIMEOUT()), attempts=6
    )

    assert in_swedish(problem) == (
        "Mäklarsystemet kan inte nås: inget svar i tid (tidsgräns för läsning). "
        "Gav upp efter 6 försök."
    )
    assert in_english(problem) == (
        "Broker system unreachable: no answer in time (read timeout). Gave up after 6 attempts."
    )


def test_a_problem_survives_its_json_form():
    problem = problems.MAY_HAVE_SAVED(answer=problems.CONNECTION_FAILED(error="ConnectionError"))

    assert Problem.from_json(problem.as_json()) == problem


def test_an_unknown_code_still_says_what_is_stored():
    assert str(Problem("retired_code", {"status": 500})) == "retired_code 500"


def test_a_problem_missing_a_parameter_its_message_names_still_says_what_is_stored():
    assert str(Problem(problems.BUSY.code, {"answer": "HTTP 503"})) == "busy HTTP 503"


@pytest.mark.django_db
def test_a_sentence_cannot_be_stored_as_a_problem():
    booking = make_booking(make_viewing(make_agency(Provider.MSPECS)))

    with pytest.raises(TypeError, match="takes a Problem"):
        Booking.objects.filter(pk=booking.pk).update(last_problem="Something went wrong.")


@pytest.mark.django_db
def test_the_booking_list_shows_the_problem_in_the_readers_language(client):
    agency = make_agency(Provider.MSPECS)
    make_booking(
        make_viewing(agency), status=Booking.Status.REJECTED, last_problem=problems.SLOT_FULL()
    )
    client.force_login(make_staff_user(agency))
    changelist = reverse("admin:bookings_booking_changelist")

    swedish = client.get(changelist, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    english = client.get(changelist, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Tiden är fullbokad i mäklarsystemet." in swedish
    assert "The slot is fully booked in the broker system." in english


@pytest.mark.django_db(transaction=True)
def test_migrating_keeps_old_free_text_errors_as_legacy_problems():
    old = migrate_back_to(
        [
            ("bookings", "0007_booking_source_without_import"),
            ("agencies", "0003_broker_id_validation"),
        ]
    )
    # Agency.provider's name before agencies' migration 0014.
    agency = old.get_model("agencies", "Agency").objects.create(name="Old", broker_system="mspecs")
    viewing = old.get_model("bookings", "Viewing").objects.create(
        agency=agency,
        title="Old",
        starts_at="2026-01-01T10:00Z",
        ends_at="2026-01-01T11:00Z",
        slot_poll_error="HTTP 500",
    )
    old.get_model("bookings", "Booking").objects.create(
        viewing=viewing,
        first_name="A",
        last_name="B",
        email="a@example.se",
        phone="+46701234567",
        status="rejected",
        last_error="Some old sentence.",
    )

    migrate_to_latest()

    assert Booking.objects.get().last_problem == LEGACY(text="Some old sentence.")
    assert in_swedish(Booking.objects.get().viewing.slot_poll_problem) == "HTTP 500"


@pytest.mark.django_db
def test_the_credential_page_shows_its_status_detail_in_the_readers_language(admin_client):
    credential = make_agency(Provider.MSPECS).credential
    credential.mark_status("failing", problems.CREDENTIAL_REFUSED(status=401))
    page = reverse("admin:agencies_providercredential_change", args=[credential.pk])

    swedish = admin_client.get(page, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    english = admin_client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Mäklarsystemet nekade byråns inloggningsuppgifter (HTTP 401)." in swedish
    assert "The broker system refused the agency&#x27;s credential (HTTP 401)." in english
