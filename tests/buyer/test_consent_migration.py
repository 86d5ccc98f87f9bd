"""Bookings taken before the consent record keep what is known of their consent."""

import pytest
from django.utils import timezone

from bookings.models import Booking
from tests.factories import historical_viewing, migrate_back_to, migrate_to_latest

BEFORE_THE_RECORD = [
    ("bookings", "0013_slot_places_names"),
    ("agencies", "0009_credential_field_names"),
]


@pytest.fixture
def migrated_back():
    """The models as they were before the consent record; the database is migrated forward
    again whatever the test does, so the tests after it find the current tables."""
    yield migrate_back_to(BEFORE_THE_RECORD)
    migrate_to_latest()


@pytest.mark.django_db(transaction=True)
def test_migration_records_consent_as_the_basis_of_page_and_api_bookings_only(migrated_back):
    old = migrated_back
    viewing = historical_viewing(old)

    def booking(source, consent_given_at, email):
        return (
            old.get_model("bookings", "Booking")
            .objects.create(
                viewing=viewing,
                first_name="A",
                last_name="B",
                email=email,
                source=source,
                consent_given_at=consent_given_at,
            )
            .pk
        )

    page = booking("public", timezone.now(), "page@example.se")
    api = booking("api", timezone.now(), "api@example.se")
    staff = booking("admin", None, "staff@example.se")
    staff_with_a_typed_date = booking("admin", timezone.now(), "typed@example.se")

    migrate_to_latest()

    basis = dict(Booking.objects.values_list("pk", "lawful_basis"))
    assert basis == {page: "consent", api: "consent", staff: "", staff_with_a_typed_date: ""}
    assert set(Booking.objects.values_list("language", "consent_text_version")) == {("sv", "")}
    agency = Booking.objects.get(pk=page).viewing.agency
    assert (agency.buyer_emails_enabled, agency.privacy_policy_url) == (True, "")
