"""A slot the MSPECS slot status answer does not mention, though the viewing lists it: its
status is unknown, not "fully booked". Every door offers it as bookable, and staff see the
flag (bookings/polling.py)."""

import pytest
from django.urls import reverse

from agencies.models import ApiKey
from bookings import polling
from bookings.models import ViewingSlot
from tests.factories import ROLES, make_agency, make_slot_viewing, make_user_in_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewing(sandbox):
    sandbox.set_deal("deal-1", {"a1": 5})
    viewing = make_slot_viewing(make_agency(sandbox=sandbox), "deal-1", ["a1", "unmentioned"])
    polling.poll_slots()
    return viewing


def test_the_public_page_offers_the_slot_rather_than_calling_it_full(client, viewing):
    html = client.get(reverse("booking-page", args=[viewing.public_id])).content.decode()

    slot_input = html[html.index('value="unmentioned"') :].split(">", 1)[0]
    assert "disabled" not in slot_input
    assert "Fullbokad" not in html


def test_the_api_lists_the_slot_as_bookable(client, viewing):
    key = ApiKey.issue(viewing.agency, "Website")[1]

    listed = client.get("/api/v1/viewings", HTTP_AUTHORIZATION=f"Bearer {key}").json()

    [slot] = [s for s in listed["viewings"][0]["slots"] if s["id"] == "unmentioned"]
    assert slot["bookable"] is True


@pytest.mark.parametrize("role", ROLES)
def test_staff_see_the_slot_flagged_in_the_admin(client, viewing, role):
    client.force_login(make_user_in_role(role, viewing.agency))
    slots = reverse("admin:bookings_viewingslot_changelist")

    flagged = client.get(slots, {"status_unknown__exact": "1"}, HTTP_ACCEPT_LANGUAGE="en")

    assert [slot.provider_slot_id for slot in flagged.context["cl"].result_list] == ["unmentioned"]
    assert ViewingSlot.objects.get(provider_slot_id="unmentioned").status_unknown
