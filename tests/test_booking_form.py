"""Adding a booking in the admin: bad input is a field error and saves nothing."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from agencies.models import Provider
from bookings.models import Booking, Viewing
from tests.factories import admin_booking_data, make_agency, make_booking, make_slot, make_viewing

ADD_URL = "admin:bookings_booking_add"


@pytest.fixture
def viewing(db):
    return make_viewing(make_agency())


@pytest.fixture
def slotted_viewing(db):
    return make_viewing(make_agency(), viewing_type=Viewing.Type.TIME_SLOTS)


def booking_form(viewing, slot=None, **fields):
    return admin_booking_data(
        viewing,
        slot,
        **{
            "first_name": "  Anna ",
            "email": "Anna.Andersson@Example.SE",
            "phone": "070-111 11 11",
            "message": "",
            **fields,
        },
    )


def add_booking(client, data):
    # Swedish is the default language; these tests read the English messages.
    return client.post(reverse(ADD_URL), data, HTTP_ACCEPT_LANGUAGE="en")


def field_errors(response):
    return response.context["adminform"].form.errors


def test_a_valid_booking_is_saved_normalised_and_queued(admin_client, viewing):
    response = add_booking(admin_client, booking_form(viewing))

    assert response.status_code == 302
    booking = Booking.objects.get()
    assert (booking.first_name, booking.email, booking.phone) == (
        "Anna",
        "anna.andersson@example.se",
        "+46701111111",
    )
    assert booking.status == Booking.Status.QUEUED


def test_an_invalid_phone_is_a_field_error(admin_client, viewing):
    response = add_booking(admin_client, booking_form(viewing, phone="070-12"))

    assert "phone" in field_errors(response)
    assert not Booking.objects.exists()


def test_a_slot_of_another_viewing_is_a_field_error(admin_client, slotted_viewing):
    other_slot = make_slot()

    response = add_booking(admin_client, booking_form(slotted_viewing, other_slot))

    # The form offers only the chosen viewing's slots, so another's is no choice at all.
    assert field_errors(response)["slot"][0] == (
        "Select a valid choice. That choice is not one of the available choices."
    )
    assert not Booking.objects.exists()


def test_a_time_slot_viewing_needs_a_slot(admin_client, slotted_viewing):
    response = add_booking(admin_client, booking_form(slotted_viewing))

    assert "slot" in field_errors(response)
    assert not Booking.objects.exists()


def test_a_vitec_viewing_needs_a_slot(admin_client):
    vitec_viewing = make_viewing(make_agency(Provider.VITEC))

    response = add_booking(admin_client, booking_form(vitec_viewing))

    assert "slot" in field_errors(response)


def test_a_fully_booked_slot_is_refused(admin_client, slotted_viewing):
    full_slot = make_slot(slotted_viewing, fully_booked=True, number_booked=4)

    response = add_booking(admin_client, booking_form(slotted_viewing, full_slot))

    assert "fully booked" in field_errors(response)["slot"][0]
    assert not Booking.objects.exists()


def change_phone_region(client, agency, phone_region):
    data = {
        "name": agency.name,
        "slug": agency.slug,
        "provider": agency.provider,
        "phone_region": phone_region,
        "is_active": "on",
    }
    return client.post(reverse("admin:agencies_agency_change", args=[agency.pk]), data)


def test_an_unknown_phone_region_is_a_field_error_on_the_agency(admin_client, viewing):
    agency = viewing.agency

    response = change_phone_region(admin_client, agency, "XX")

    assert "phone_region" in field_errors(response)
    agency.refresh_from_db()
    assert agency.phone_region == "SE"


def test_a_past_slot_is_refused(admin_client, slotted_viewing):
    past_slot = make_slot(slotted_viewing, starts_at=timezone.now() - timedelta(hours=1))

    response = add_booking(admin_client, booking_form(slotted_viewing, past_slot))

    assert field_errors(response)["slot"] == ["This time has passed; choose another."]
    assert not Booking.objects.exists()


def test_a_viewing_that_has_ended_is_refused(admin_client):
    ended = make_viewing(make_agency(), starts_at=timezone.now() - timedelta(days=1))

    response = add_booking(admin_client, booking_form(ended))

    assert field_errors(response)["__all__"] == ["This viewing has ended."]
    assert not Booking.objects.exists()


def test_a_delivered_bookings_buyer_details_are_read_only(admin_client, viewing):
    booking = make_booking(viewing, status=Booking.Status.DELIVERED)

    response = admin_client.get(reverse("admin:bookings_booking_change", args=[booking.pk]))

    assert "email" not in response.context["adminform"].form.fields


def test_saving_a_booking_writes_only_what_staff_changed(viewing):
    booking = make_booking(viewing)
    edited = Booking.objects.get(pk=booking.pk)  # as the change form loaded it
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.DELIVERED)  # a worker
    edited.message = "Vi kommer två."

    booking_admin = admin.site.get_model_admin(Booking)
    booking_admin.save_model(None, edited, SimpleNamespace(changed_data=["message"]), True)

    booking.refresh_from_db()
    assert (booking.message, booking.status) == ("Vi kommer två.", Booking.Status.DELIVERED)


def test_a_lower_case_phone_region_is_accepted(admin_client, viewing):
    agency = viewing.agency

    change_phone_region(admin_client, agency, "no")

    agency.refresh_from_db()
    assert agency.phone_region == "NO"
