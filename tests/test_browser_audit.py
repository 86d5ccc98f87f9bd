"""A staff action shows in the booking's timeline under the staff member's name, in Swedish,
in a real browser (Debian's Chromium, headless, via Playwright). Screenshot in
var/screenshots/."""

from bookings.models import Booking
from tests.factories import make_agency, make_booking, make_staff_user
from tests.test_browser_booking import (  # noqa: F401 (browser: the fixture; pytestmark: its skips)
    SCREENSHOTS,
    browser,
    new_page,
    pytestmark,
    sign_in,
)


def test_a_cancel_on_the_bookings_page_shows_in_its_timeline_with_who_did_it(
    browser,  # noqa: F811
    live_server,
):
    agency = make_agency(name="Mäklarhuset")
    staff = make_staff_user(agency, username="maja")
    staff.first_name, staff.last_name = "Maja", "Lind"
    staff.save()
    make_booking(agency, first_name="Björn", last_name="Berg", status=Booking.Status.FAILED)
    page = new_page(browser, java_script_enabled=False)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, live_server, staff.username, "/admin/bookings/booking/")
    page.get_by_role("link", name="Björn Berg").click()

    page.get_by_role("button", name="Skicka igen", exact=True).click()

    row = page.locator("#timeline tbody tr").last
    assert "Maja Lind" in row.inner_text()
    assert "Köad för att skickas igen på bokningens sida" in row.inner_text()
    page.locator("#timeline").screenshot(path=SCREENSHOTS / "staff-booking-timeline.png")
    page.screenshot(path=SCREENSHOTS / "staff-booking-page-timeline.png", full_page=True)
