"""A booking's admin page: its state first, the actions that fit it as buttons, the broker
system's field errors beside the fields, save-and-re-send; adding starts with the viewing;
consent is the buyer's; a delivered booking is never deleted from here."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils.html import escape

from bookings.delivery.sending import deliver
from bookings.models import Booking, Viewing
from bookings.problems import delivery as problems
from tests.factories import (
    ROLES,
    admin_booking_data,
    make_booking,
    make_slot,
    make_staff_user,
    make_user_in_role,
    make_viewing,
)

Status = Booking.Status


def page_url(booking):
    return reverse("admin:bookings_booking_change", args=[booking.pk])


def act_url(booking, action):
    return reverse("admin:bookings_booking_act", args=[booking.pk, action])


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def agency(make_agency):
    return make_agency()


@pytest.fixture
def other_agency(make_agency):
    return make_agency()


# Every role that works on the agency's bookings.
@pytest.fixture(params=ROLES)
def member_client(request, client, agency, other_agency):
    client.force_login(make_user_in_role(request.param, agency, other_agency))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def staff_client(client, agency):
    client.force_login(make_staff_user(agency))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def buttons(page: str) -> list[str]:
    return [
        name
        for name in ("send_now", "resend", "cancel", "mark_delivered")
        if f'value="{name}"' in page
    ]


@pytest.mark.parametrize(
    ("status", "offered"),
    [
        (Status.QUEUED, ["send_now", "cancel"]),
        (Status.RETRYING, ["send_now", "cancel"]),
        (Status.HELD, ["resend", "cancel"]),
        (Status.REJECTED, ["resend", "cancel"]),
        (Status.FAILED, ["resend", "cancel"]),
        (Status.NEEDS_REVIEW, ["resend", "cancel", "mark_delivered"]),
        (Status.SENDING, []),
        (Status.DELIVERED, []),
        (Status.CANCELLED, []),
    ],
)
@pytest.mark.django_db
def test_the_page_offers_only_the_actions_that_fit_the_status(
    staff_client, agency, status, offered
):
    booking = make_booking(agency, status=status)

    page = staff_client.get(page_url(booking)).text

    assert buttons(page) == offered


@pytest.mark.django_db
def test_status_last_error_and_attempts_come_before_the_buyer(staff_client, agency, sandbox):
    booking = make_booking(agency, first_name="Zelda")
    sandbox.set_fault("status", status=503, count=1)
    deliver(booking.pk)

    page = staff_client.get(page_url(booking)).text

    status_at = page.index('class="booking-status retrying"')
    error_at = page.index("Broker system busy or failing (HTTP 503).")
    assert status_at < error_at < page.index('id="attempts-group"') < page.index('value="Zelda"')


@pytest.mark.django_db
def test_the_last_error_is_in_the_readers_language(staff_client, agency):
    booking = make_booking(agency, status=Status.REJECTED, last_problem=problems.SLOT_FULL())

    swedish = staff_client.get(page_url(booking), HTTP_ACCEPT_LANGUAGE="sv").text

    assert "Tiden är fullbokad i mäklarsystemet." in swedish


@pytest.mark.django_db
def test_every_member_resends_from_the_page_and_it_is_delivered(
    member_client, agency, django_capture_on_commit_callbacks
):
    booking = make_booking(agency, status=Status.FAILED, attempt_count=6)

    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(act_url(booking, "resend"), follow=True)

    assert response.redirect_chain[-1][0] == page_url(booking)
    assert messages_of(response) == [
        f'<a href="{page_url(booking)}">{escape(booking)}</a>: 1 booking queued to be sent again.'
    ]
    assert deliver(booking.pk) == "delivered"


@pytest.mark.django_db
def test_cancel_asks_first_then_says_what_happened(staff_client, agency):
    booking = make_booking(agency, status=Status.FAILED)

    asked = staff_client.post(act_url(booking, "cancel"))
    assert "Are you sure?" in asked.text
    booking.refresh_from_db()
    assert booking.status == Status.FAILED

    done = staff_client.post(act_url(booking, "cancel"), {"post": "yes"}, follow=True)

    booking.refresh_from_db()
    assert booking.status == Status.CANCELLED
    assert messages_of(done)[0].endswith(": 1 booking cancelled.")


@pytest.mark.django_db
def test_only_cancel_is_styled_as_destructive(staff_client, agency):
    booking = make_booking(agency, status=Status.NEEDS_REVIEW)

    mark = staff_client.post(act_url(booking, "mark_delivered")).text
    cancel = staff_client.post(act_url(booking, "cancel")).text

    assert "delete-confirmation" not in mark
    assert "delete-confirmation" in cancel


@pytest.mark.django_db
def test_an_action_that_no_longer_fits_says_why_it_was_skipped(staff_client, agency):
    booking = make_booking(agency, status=Status.DELIVERED)

    response = staff_client.post(act_url(booking, "resend"), follow=True)

    assert messages_of(response)[0].endswith(": 1 booking skipped: already delivered.")


@pytest.mark.django_db
def test_actions_refuse_get_unknown_names_and_other_agencies(staff_client, agency, other_agency):
    own = make_booking(agency, status=Status.FAILED)
    other = make_booking(other_agency, status=Status.FAILED)

    assert staff_client.get(act_url(own, "resend")).status_code == 405
    assert staff_client.post(act_url(own, "delete_everything")).status_code == 404
    assert staff_client.post(act_url(other, "resend")).status_code == 404
    assert staff_client.post(act_url(own, "resend\x00")).status_code == 404
    assert staff_client.post(f"/admin/bookings/booking/{'9' * 30}/act/resend/").status_code == 404
    assert set(Booking.objects.values_list("status", flat=True)) == {Status.FAILED}


@pytest.mark.django_db
def test_a_user_of_no_agency_cannot_act(client, agency):
    booking = make_booking(agency, status=Status.FAILED)
    client.force_login(make_staff_user())

    response = client.post(act_url(booking, "resend"))

    assert response.status_code in (403, 404)
    booking.refresh_from_db()
    assert booking.status == Status.FAILED


# --- a rejected booking: the provider's field errors, save and re-send ----------------


@pytest.mark.django_db
def test_field_errors_appear_beside_the_fields_they_concern(staff_client, agency):
    booking = make_booking(
        agency,
        status=Status.REJECTED,
        provider_errors={"phoneNumber": ["Invalid phone <b>number</b>."], "other": ["?"]},
    )

    page = staff_client.get(page_url(booking)).text

    phone_row = page[page.index("fieldBox field-phone") :]
    phone_row = phone_row[: phone_row.index('id="id_phone"')]
    assert "Invalid phone &lt;b&gt;number&lt;/b&gt;." in phone_row


@pytest.mark.django_db
def test_vitec_field_errors_are_matched_on_the_last_part_of_their_path(make_agency):
    from bookings.providers.vitec.client import VitecClient

    errors = VitecClient.errors_by_booking_field(
        {"request.updatePerson.CellPhone": ["Bad."], "BookingLimit": ["Full."]}
    )

    assert errors == {"phone": ["Bad."], "BookingLimit": ["Full."]}


@pytest.mark.django_db
def test_save_and_resend_saves_the_fix_and_sends_it(
    staff_client, agency, sandbox, django_capture_on_commit_callbacks
):
    booking = make_booking(
        agency, status=Status.REJECTED, provider_errors={"phoneNumber": ["Invalid."]}
    )
    data = admin_booking_data(booking.viewing, phone="070-999 99 99", _save_and_resend="1")

    page = staff_client.get(page_url(booking)).text
    assert 'name="_save_and_resend"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(page_url(booking), data, follow=True)

    booking.refresh_from_db()
    assert (booking.phone, booking.status, booking.provider_errors) == (
        "+46709999999",
        Status.QUEUED,
        {},
    )
    assert messages_of(response)[-1].endswith("Saved. 1 booking queued to be sent again.")
    assert deliver(booking.pk) == "delivered"


@pytest.mark.django_db
def test_save_and_resend_with_bad_data_saves_and_sends_nothing(staff_client, agency):
    booking = make_booking(agency, status=Status.REJECTED)
    data = admin_booking_data(booking.viewing, phone="x" * 500 + "\x00", _save_and_resend="1")

    response = staff_client.post(page_url(booking), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["phone"]
    booking.refresh_from_db()
    assert booking.status == Status.REJECTED


@pytest.mark.django_db
def test_save_and_resend_is_offered_only_on_a_rejected_booking(staff_client, agency):
    booking = make_booking(agency, status=Status.FAILED)

    assert "_save_and_resend" not in staff_client.get(page_url(booking)).text


# --- adding: the viewing first, then only its slots ---------------------------------------


@pytest.mark.django_db
def test_adding_starts_by_choosing_one_of_the_users_viewings(staff_client, agency, other_agency):
    make_viewing(agency, title="Own viewing")
    make_viewing(other_agency, title="Other viewing")

    page = staff_client.get(reverse("admin:bookings_booking_add")).text

    assert "Own viewing" in page
    assert "Other viewing" not in page


@pytest.mark.django_db
def test_the_add_form_offers_only_the_chosen_viewings_slots(staff_client, agency):
    chosen = make_viewing(agency, viewing_type=Viewing.Type.TIME_SLOTS, title="Chosen")
    make_slot(chosen, provider_slot_id="chosen-slot")
    other = make_viewing(agency, viewing_type=Viewing.Type.TIME_SLOTS, title="Another")
    other_slot = make_slot(other, provider_slot_id="other-slot")

    add_url = reverse("admin:bookings_booking_add")
    form = staff_client.get(add_url, {"viewing": chosen.pk}).context["adminform"].form

    assert [s.viewing_id for s in form.fields["slot"].queryset] == [chosen.pk]
    posted = staff_client.post(
        reverse("admin:bookings_booking_add") + f"?viewing={chosen.pk}",
        admin_booking_data(chosen, other_slot),
    )
    assert posted.status_code == 200
    assert "slot" in posted.context["adminform"].form.errors
    assert not Booking.objects.exists()


@pytest.mark.parametrize("hostile", ["abc", "1\x00", "-1", "x" * 5000])
@pytest.mark.django_db
def test_a_malformed_viewing_choice_is_an_error_on_the_chooser(staff_client, hostile):
    response = staff_client.get(reverse("admin:bookings_booking_add"), {"viewing": hostile})

    assert response.status_code in (200, 400)  # NUL bytes are refused before any view
    if response.status_code == 200:
        assert "errornote" in response.text
    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_another_agencys_viewing_cannot_be_booked_from_the_form(staff_client, other_agency):
    foreign = make_viewing(other_agency, viewing_type=Viewing.Type.TIME_SLOTS)
    foreign_slot = make_slot(foreign)
    add_url = reverse("admin:bookings_booking_add") + f"?viewing={foreign.pk}"

    form = staff_client.get(add_url).context["adminform"].form
    posted = staff_client.post(add_url, admin_booking_data(foreign, foreign_slot))

    assert not form.fields["slot"].queryset.exists()
    assert {"viewing", "slot"} <= set(posted.context["adminform"].form.errors)
    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_staff_cannot_set_or_change_the_buyers_consent(staff_client, agency):
    booking = make_booking(agency, status=Status.FAILED, consent_given_at=None)
    data = admin_booking_data(booking.viewing, consent_given_at="2020-01-01 10:00")

    page = staff_client.get(page_url(booking)).text
    staff_client.post(page_url(booking), data)

    assert 'name="consent_given_at"' not in page
    booking.refresh_from_db()
    assert booking.consent_given_at is None


# --- deleting ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_delivered_booking_has_no_delete_on_its_page(member_client, agency):
    booking = make_booking(agency, status=Status.DELIVERED)

    page = member_client.get(page_url(booking)).text
    deleted = member_client.post(
        reverse("admin:bookings_booking_delete", args=[booking.pk]), {"post": "yes"}
    )

    assert "deletelink" not in page
    assert deleted.status_code == 403
    assert Booking.objects.filter(pk=booking.pk).exists()


@pytest.mark.django_db
def test_bulk_delete_refuses_a_selection_with_a_delivered_booking(member_client, agency):
    bookings = [make_booking(agency, status=s) for s in (Status.DELIVERED, Status.FAILED)]

    response = member_client.post(
        reverse("admin:bookings_booking_changelist"),
        {"action": "delete_selected", "_selected_action": [b.pk for b in bookings], "post": "yes"},
        follow=True,
    )

    assert Booking.objects.count() == 2
    assert messages_of(response) == [
        "Nothing was deleted: 1 selected booking is delivered, so it is in the broker system. "
        "Erase a buyer's personal data with the erasure tool instead."
    ]


@pytest.mark.django_db
def test_bulk_delete_still_deletes_bookings_that_never_reached_the_broker(staff_client, agency):
    bookings = [make_booking(agency, status=Status.CANCELLED) for _ in range(2)]

    staff_client.post(
        reverse("admin:bookings_booking_changelist"),
        {"action": "delete_selected", "_selected_action": [b.pk for b in bookings], "post": "yes"},
    )

    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_each_attempt_is_titled_in_the_readers_language(staff_client, agency, sandbox):
    booking = make_booking(agency)
    sandbox.set_fault("status", status=503, count=1)
    deliver(booking.pk)

    page = staff_client.get(page_url(booking), HTTP_ACCEPT_LANGUAGE="sv").text

    assert "→ 503 (Försök igen senare)" in page
