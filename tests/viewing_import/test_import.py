"""Importing an MSPECS deal or a Vitec estate on the admin's import page, against the
sandbox over real HTTP: what is created, who may, and every bad input."""

import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from agencies.models import Membership, Provider
from bookings.models import Viewing, ViewingChange, ViewingSlot
from tests.factories import (
    make_staff_user,
    make_viewing,
    mspecs_deal,
    mspecs_ordinary_viewing,
    mspecs_slot_viewing,
    vitec_viewing,
)

IMPORT_URL = "/admin/bookings/viewing/import/"
STOCKHOLM = zoneinfo.ZoneInfo("Europe/Stockholm")
START = datetime(2031, 6, 10, 17, 0, tzinfo=STOCKHOLM)

pytestmark = pytest.mark.django_db


def sign_in(client, role, agency, other_agency=None):
    """`role` on `agency`; "staff-elsewhere-admin" is staff on `agency` and administrator of
    `other_agency`."""
    if role == "superuser":
        user = get_user_model().objects.create_superuser("root", password="pw")
    elif role == "administrator":
        user = make_staff_user(agency, role=Membership.Role.ADMIN)
    elif role == "staff":
        user = make_staff_user(agency)
    else:
        user = make_staff_user(agency)
        Membership.objects.create(user=user, agency=other_agency, role=Membership.Role.ADMIN)
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def mspecs(make_agency, sandbox):
    agency = make_agency(Provider.MSPECS, name="Mäklarhuset")
    sandbox.set_mspecs_deal(
        "deal-1",
        mspecs_deal(
            "deal-1",
            [
                mspecs_slot_viewing("v-slots", START, ["s-1", "s-2", "s-3"], free_spots=4),
                mspecs_ordinary_viewing("v-open", START + timedelta(days=1)),
            ],
        ),
    )
    return agency


def post_import(client, agency, source_id="deal-1", **data):
    return client.post(IMPORT_URL, {"agency": agency.pk, "source_id": source_id, **data})


def form_errors(response) -> str:
    form = response.context["form"]
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


@pytest.mark.parametrize("role", ["superuser", "administrator"])
def test_an_mspecs_deal_is_imported_with_its_viewings_slots_and_links(client, mspecs, role):
    sign_in(client, role, mspecs)

    response = post_import(client, mspecs)

    assert response.status_code == 200
    assert not response.context["form"].errors
    timed = Viewing.objects.get(provider_viewing_id="v-slots")
    assert timed.agency == mspecs
    assert (timed.source_id, timed.mspecs_deal_id) == ("deal-1", "deal-1")
    assert timed.viewing_type == Viewing.Type.TIME_SLOTS
    assert timed.title == "Storgatan 1"  # the deal's location.streetAddress
    assert timed.address == "Storgatan 1, 753 20 Uppsala"
    assert timed.starts_at == START
    assert [(s.provider_slot_id, s.starts_at, s.free_spots) for s in timed.slots.all()] == [
        ("s-1", START, 4),
        ("s-2", START + timedelta(minutes=20), 4),
        ("s-3", START + timedelta(minutes=40), 4),
    ]
    ordinary = Viewing.objects.get(provider_viewing_id="v-open")
    assert ordinary.viewing_type == Viewing.Type.ORDINARY and not ordinary.slots.exists()
    page = response.content.decode()
    for viewing in (timed, ordinary):
        assert f'value="http://testserver/book/{viewing.public_id}/"' in page
    assert ViewingChange.objects.filter(kind=ViewingChange.Kind.IMPORTED).count() == 2


@pytest.mark.parametrize("role", ["superuser", "administrator", "staff-elsewhere-admin"])
def test_a_vitec_estate_picked_from_the_list_is_imported(client, make_agency, sandbox, role):
    agency = make_agency(Provider.VITEC)
    sandbox.set_vitec_estate(
        "estate-9",
        [vitec_viewing("vv-1", START, ["t-1", "t-2"])],
        street_address="Ågatan 3",
        zip_code="903 26",
        postal_town="Umeå",
    )
    if role == "staff-elsewhere-admin":  # administrator of the Vitec agency, staff elsewhere
        sign_in(client, role, make_agency(Provider.MSPECS), agency)
    else:
        sign_in(client, role, agency)

    listed = client.post(IMPORT_URL, {"agency": agency.pk, "list_sources": "1"})
    choices = listed.context["form"].fields["listed_source"].choices
    assert ("estate-9", "Ågatan 3, Umeå") in choices
    response = client.post(
        IMPORT_URL, {"agency": agency.pk, "listed_source": "estate-9", "import": "1"}
    )

    assert not response.context["form"].errors
    viewing = Viewing.objects.get(agency=agency, provider_viewing_id="vv-1")
    assert viewing.source_id == "estate-9" and viewing.mspecs_deal_id == ""
    assert [s.provider_slot_id for s in viewing.slots.all()] == ["t-1", "t-2"]
    assert [s.capacity for s in viewing.slots.all()] == [3, 3]
    assert (viewing.title, viewing.address) == ("Ågatan 3, Umeå", "Ågatan 3, 903 26 Umeå")


def test_a_vitec_estate_id_typed_in_is_imported(client, make_agency, sandbox):
    agency = make_agency(Provider.VITEC)
    sandbox.set_vitec_estate("estate-9", [vitec_viewing("vv-1", START, ["t-1"])])
    sign_in(client, "administrator", agency)

    post_import(client, agency, "estate-9")

    assert Viewing.objects.filter(agency=agency, source_id="estate-9").count() == 1


def test_importing_the_same_deal_again_adds_nothing(client, mspecs):
    sign_in(client, "administrator", mspecs)
    post_import(client, mspecs)

    response = post_import(client, mspecs)

    assert response.context["result"].created == 0
    assert Viewing.objects.count() == 2 and ViewingSlot.objects.count() == 3


def test_a_hand_entered_viewing_with_the_same_id_is_adopted_not_doubled(client, mspecs):
    make_viewing(mspecs, provider_viewing_id="v-open", title="Typed by hand")
    sign_in(client, "administrator", mspecs)

    post_import(client, mspecs)

    viewing = Viewing.objects.get(provider_viewing_id="v-open")
    assert viewing.source_id == "deal-1" and viewing.title == "Typed by hand"
    assert Viewing.objects.count() == 2


def test_staff_may_not_import(client, mspecs, sandbox):
    sign_in(client, "staff", mspecs)

    assert client.get(IMPORT_URL).status_code == 403
    assert post_import(client, mspecs).status_code == 403
    assert not Viewing.objects.exists() and sandbox.requests_served == 0


def test_a_user_may_import_only_into_the_agency_they_administer(client, mspecs, make_agency):
    administered = make_agency(Provider.MSPECS)
    sign_in(client, "staff-elsewhere-admin", mspecs, administered)

    response = post_import(client, mspecs)

    assert "Select a valid choice" in form_errors(response)
    assert not Viewing.objects.exists()
    assert list(response.context["form"].fields["agency"].queryset) == [administered]


def test_the_viewing_list_offers_the_import_page_only_to_administrators(client, mspecs):
    sign_in(client, "staff", mspecs)
    assert IMPORT_URL not in client.get("/admin/bookings/viewing/").content.decode()
    client.force_login(make_staff_user(mspecs, role=Membership.Role.ADMIN))
    assert IMPORT_URL in client.get("/admin/bookings/viewing/").content.decode()


def test_a_user_without_an_agency_may_not_import(client, mspecs):
    client.force_login(make_staff_user())

    assert client.get(IMPORT_URL).status_code == 403


@pytest.mark.parametrize(
    "source_id",
    ["deal/1", "../deal", "deal\x00", "d" * 201, "deal 1", "deal?x", "deal%2F1", ".."],
    ids=["slash", "dotdot-slash", "nul", "too-long", "space", "query", "percent", "dotdot"],
)
def test_a_hostile_id_is_refused_before_anything_is_called(client, mspecs, sandbox, source_id):
    sign_in(client, "administrator", mspecs)

    response = post_import(client, mspecs, source_id)

    assert response.status_code == 200
    assert form_errors(response)
    assert sandbox.requests_served == 0 and not Viewing.objects.exists()


def test_an_empty_id_asks_for_one(client, mspecs, sandbox):
    sign_in(client, "administrator", mspecs)

    response = post_import(client, mspecs, "")

    assert "Enter a deal or estate id." in form_errors(response)
    assert sandbox.requests_served == 0


def test_an_unknown_deal_says_so_and_imports_nothing(client, mspecs):
    sign_in(client, "administrator", mspecs)

    response = post_import(client, mspecs, "deal-404")

    assert form_errors(response) == (
        "deal-404 is not published in the broker system (HTTP 404): it was unpublished, or "
        "the id is not known there."
    )
    assert not Viewing.objects.exists()


def test_the_message_is_in_the_users_language(client, mspecs):
    sign_in(client, "administrator", mspecs)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "sv"

    response = post_import(client, mspecs, "deal-404")

    assert "är inte publicerat" in form_errors(response)


def test_a_refused_credential_says_so_and_imports_nothing(client, make_agency, sandbox):
    agency = make_agency(Provider.MSPECS, secret="wrong")
    sandbox.set_mspecs_deal("deal-1", mspecs_deal("deal-1", [mspecs_ordinary_viewing("v", START)]))
    sign_in(client, "administrator", agency)

    response = post_import(client, agency)

    assert "refused the agency's credential (HTTP 401)" in form_errors(response)
    assert not Viewing.objects.exists()


def test_an_answer_of_the_wrong_shape_imports_nothing_of_the_deal(client, mspecs, sandbox):
    good = mspecs_ordinary_viewing("v-1", START)
    wrong = mspecs_deal("deal-2", [good, {**good, "id": "v-2", "endDate": 5}])
    sandbox.set_fault(status=200, body=wrong, count=1)
    sign_in(client, "administrator", mspecs)

    response = post_import(client, mspecs, "deal-2")

    assert "unexpected shape (viewings[1].endDate: 5 is not of type" in form_errors(response)
    assert not Viewing.objects.exists()


def test_two_viewings_with_one_id_are_a_wrong_shape_not_half_an_import(client, mspecs, sandbox):
    viewing = mspecs_ordinary_viewing("v-1", START)
    sandbox.set_mspecs_deal("deal-2", mspecs_deal("deal-2", [viewing, viewing]))  # valid JSON
    sign_in(client, "administrator", mspecs)

    response = post_import(client, mspecs, "deal-2")

    assert "two viewings with one id" in form_errors(response)
    assert not Viewing.objects.exists()


def test_a_deal_without_a_bookable_time_says_there_is_nothing_to_import(client, mspecs, sandbox):
    sandbox.set_mspecs_deal("deal-3", mspecs_deal("deal-3", []))
    sign_in(client, "administrator", mspecs)

    response = post_import(client, mspecs, "deal-3")

    assert "nothing was imported" in form_errors(response)


def test_an_agency_without_a_credential_is_told_so(client, db):
    from tests.factories import make_agency

    agency = make_agency(Provider.MSPECS, with_credential=False)
    sign_in(client, "administrator", agency)

    response = post_import(client, agency)

    assert "has no broker-system credential" in form_errors(response)


def test_the_page_offers_every_agency_the_list_in_words_of_no_one_system(client, mspecs):
    sign_in(client, "administrator", mspecs)

    page = client.get(IMPORT_URL).content.decode()

    assert 'name="list_sources" value="List deals and estates"' in page
    assert "Deal or estate id" in page
    assert "Vitec" not in page


def test_a_list_the_provider_refuses_says_why_without_the_secret(client, make_agency, sandbox):
    agency = make_agency(Provider.VITEC, secret="wrong-secret-123")
    sign_in(client, "administrator", agency)

    response = client.post(IMPORT_URL, {"agency": agency.pk, "list_sources": "1"})

    assert "refused the agency's credential (HTTP 401)" in form_errors(response)
    assert "wrong-secret-123" not in response.content.decode()
    assert "listed_source" not in response.context["form"].fields


def test_an_empty_list_says_there_is_nothing_to_import(client, make_agency, sandbox):
    agency = make_agency(Provider.VITEC)
    sign_in(client, "administrator", agency)

    response = client.post(IMPORT_URL, {"agency": agency.pk, "list_sources": "1"})

    assert "lists no deal or estate to import" in form_errors(response)


def test_listing_for_an_agency_without_a_credential_says_so(client, db):
    from tests.factories import make_agency

    agency = make_agency(Provider.VITEC, with_credential=False)
    sign_in(client, "administrator", agency)

    response = client.post(IMPORT_URL, {"agency": agency.pk, "list_sources": "1"})

    assert "has no broker-system credential" in form_errors(response)


def test_an_estate_not_on_the_list_cannot_be_picked(client, make_agency, sandbox):
    agency = make_agency(Provider.VITEC)
    sandbox.set_vitec_estate("estate-9", [vitec_viewing("vv-1", START, ["t-1"])])
    sign_in(client, "administrator", agency)

    response = client.post(IMPORT_URL, {"agency": agency.pk, "listed_source": "estate-other"})

    assert "Select a valid choice" in form_errors(response)
    assert not Viewing.objects.exists()


def test_an_imported_viewings_ids_and_times_cannot_be_changed_by_hand(client, mspecs):
    sign_in(client, "administrator", mspecs)
    post_import(client, mspecs)
    viewing = Viewing.objects.get(provider_viewing_id="v-open")

    page = client.get(reverse("admin:bookings_viewing_change", args=[viewing.pk]))

    form = page.context["adminform"].form
    for name in ("provider_viewing_id", "mspecs_deal_id", "starts_at", "booking_closes_at"):
        assert name not in form.fields
    assert "title" in form.fields  # the title may be made friendlier
