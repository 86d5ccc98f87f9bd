"""A staff action shows in the booking's timeline under the staff member's name, in Swedish,
in a real browser (Debian's Chromium, headless, via Playwright). Screenshot in
var/screenshots/."""

import pytest

from bookings.models import Booking
from tests.factories import make_agency, make_booking, make_staff_user
from tests.test_browser_booking import CHROMIUM, SCREENSHOTS, browser, sync_api  # noqa: F401

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]


def test_a_cancel_on_the_bookings_page_shows_in_its_timeline_with_who_did_it(
    browser,  # noqa: F811
    live_server,
):
    agency = make_agency(name="Mäklarhuset")
    staff = make_staff_user(agency, username="maja")
    staff.first_name, staff.last_name = "Maja", "Lind"
    staff.save()
    make_booking(agency, first_name="Björn", last_name="Berg", status=Booking.Status.FAILED)
    page = browser.new_context(
        locale="sv-SE", viewport={"width": 1280, "height": 900}, java_script_enabled=False
    ).new_page()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/bookings/booking/")
    page.get_by_label("Användarnamn").fill(staff.username)
    page.get_by_label("Lösenord").fill("pw")
    page.get_by_role("button", name="Logga in").click()
    page.get_by_role("link", name="Björn Berg").click()

    page.get_by_role("button", name="Skicka igen", exact=True).click()

    row = page.locator("#timeline tbody tr").last
    assert "Maja Lind" in row.inner_text()
    assert "Köad för att skickas igen på bokningens sida" in row.inner_text()
    page.locator("#timeline").screenshot(path=SCREENSHOTS / "staff-booking-timeline.png")
    page.screenshot(path=SCREENSHOTS / "staff-booking-page-timeline.png", full_page=True)
