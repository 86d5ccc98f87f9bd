"""Exporting a buyer's data (an access request): the same lookup as erasure, as JSON or
CSV, scoped to the agencies the user administers and recorded."""

import csv
import io
import json

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType

from agencies.models import Agency, ApiKey, Membership
from bookings.models import (
    Booking,
    DataRequest,
    DeliveryAttempt,
    IdempotentRequest,
    idempotency_key_digest,
)
from bookings.privacy.subject import KINDS, BuyerData, export_records
from tests.factories import delivered_booking, make_staff_user, make_viewing

EMAIL = "anna@example.se"
LOOKUP_URL = "/admin/bookings/datarequest/buyer/"


@pytest.fixture
def booking_a(agency_a):
    booking = delivered_booking(
        make_viewing(agency_a), email=EMAIL, first_name="Anna", message="=HYPERLINK(1)"
    )
    DeliveryAttempt.objects.create(
        booking=booking, endpoint="POST /v3/viewings", http_status=200, outcome="delivered"
    )
    LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(Booking),
        object_id=str(booking.pk),
        object_repr=str(booking),
        action_flag=ADDITION,
        user=make_staff_user(agency_a),
    )
    IdempotentRequest.objects.create(
        api_key=ApiKey.issue(agency_a, "Website")[0],
        key_digest=idempotency_key_digest("order-1"),
        request_fingerprint="f" * 64,
        response_status=202,
        response_body={"id": booking.pk},
    )
    return booking


@pytest.fixture
def booking_b(agency_b):
    return delivered_booking(make_viewing(agency_b), email=EMAIL, first_name="Annika")


def download(client, action, email=EMAIL, **headers):
    return client.post(LOOKUP_URL, {"email": email, "action": action}, **headers)


def test_the_export_holds_every_kind_of_row_under_the_email(booking_a):
    records = export_records(BuyerData(EMAIL, Agency.objects.all()))

    assert [row["id"] for row in records["bookings"]] == [booking_a.pk]
    assert records["bookings"][0]["first_name"] == "Anna"
    for kind in KINDS:
        assert len(records[kind]) == (0 if kind == "quarantine_decisions" else 1), kind


def test_a_superuser_downloads_json_of_every_agency(admin_client, booking_a, booking_b):
    response = download(admin_client, "export_json")

    assert response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    names = {row["first_name"] for row in json.loads(response.content)["bookings"]}
    assert names == {"Anna", "Annika"}


def test_an_agency_administrator_downloads_only_their_agencys_rows(
    client, booking_a, booking_b, agency_a
):
    client.force_login(make_staff_user(agency_a, role=Membership.Role.ADMIN))

    data = json.loads(download(client, "export_json").content)

    assert [row["first_name"] for row in data["bookings"]] == ["Anna"]


def test_administrator_of_one_agency_and_staff_of_another_exports_only_the_first(
    client, booking_a, booking_b, agency_a, agency_b
):
    user = make_staff_user(agency_b)
    Membership.objects.create(user=user, agency=agency_a, role=Membership.Role.ADMIN)
    client.force_login(user)

    data = json.loads(download(client, "export_json").content)

    assert [row["first_name"] for row in data["bookings"]] == ["Anna"]


def test_staff_may_not_export(client, booking_a, agency_a):
    client.force_login(make_staff_user(agency_a))

    assert download(client, "export_csv").status_code == 403
    assert not DataRequest.objects.exists()


def test_an_export_is_recorded_without_the_email(admin_client, booking_a):
    download(admin_client, "export_json")

    record = DataRequest.objects.get()
    assert (record.kind, record.agency) == ("export", booking_a.agency)
    assert record.counts["bookings"] == 1
    assert EMAIL not in json.dumps(record.counts)


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_csv_has_one_line_per_stored_value(admin_client, booking_a):
    rows = rows_of(download(admin_client, "export_csv", HTTP_ACCEPT_LANGUAGE="en"))

    assert rows[0] == ["Kind of record", "Id", "Field", "Value"]
    assert ["Bookings", str(booking_a.pk), "email", EMAIL] in rows
    assert any(row[0] == "Delivery attempts" for row in rows)


def test_the_csv_headers_are_in_the_readers_language(admin_client, booking_a):
    rows = rows_of(download(admin_client, "export_csv", HTTP_ACCEPT_LANGUAGE="sv"))

    assert rows[0] == ["Typ av post", "Id", "Fält", "Värde"]
    assert rows[1][0] == "Bokningar"


def test_a_formula_from_the_buyer_is_neutralised_in_the_csv(admin_client, booking_a):
    rows = rows_of(download(admin_client, "export_csv", HTTP_ACCEPT_LANGUAGE="en"))

    assert ["Bookings", str(booking_a.pk), "message to the broker", "'=HYPERLINK(1)"] in rows


def test_an_erased_buyer_has_nothing_left_to_export(admin_client, booking_a):
    admin_client.post(LOOKUP_URL, {"email": EMAIL, "action": "erase", "confirm": "on"})

    data = json.loads(download(admin_client, "export_json").content)

    assert data["bookings"] == [] and data["delivery_attempts"] == []


@pytest.mark.parametrize("email", ["", "x", "anna\x00@example.se", "a" * 300 + "@example.se"])
def test_a_bad_email_downloads_nothing(admin_client, booking_a, email):
    response = download(admin_client, "export_json", email=email)

    assert response["Content-Type"].startswith("text/html")
    assert not DataRequest.objects.exists()
