"""Agency staff fix a failed booking where they see it, in Swedish, in a real browser
(Debian's Chromium, headless, via Playwright): sign in, find the failing booking, open it,
re-send it from its page, and see it delivered. Screenshots in var/screenshots/."""

from django.core.management import call_command

from bookings.delivery.sending import deliver
from bookings.models import Booking
from tests.factories import make_agency, make_booking, make_staff_user
from tests.test_browser_booking import (  # noqa: F401 (browser: the fixture; pytestmark: its skips)
    SCREENSHOTS,
    browser,
    new_page,
    pytestmark,
    sign_in,
)


def test_staff_resend_a_failed_booking_from_its_page_and_see_it_delivered(
    browser,  # noqa: F811
    live_server,
    sandbox,
    settings,
):
    agency = make_agency(sandbox=sandbox, name="Mäklarhuset")
    staff = make_staff_user(agency, username="maja")
    settings.DELIVERY_RETRY_SCHEDULE = []  # one attempt, then failed
    booking = make_booking(agency, first_name="Björn", last_name="Berg", email="bjorn@example.se")
    sandbox.set_fault("status", status=503)
    deliver(booking.pk)
    sandbox.clear_fault()
    assert Booking.objects.get().status == Booking.Status.FAILED
    page = new_page(browser, java_script_enabled=False)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    sign_in(page, live_server, staff.username, "/admin/bookings/booking/")
    row = page.locator("#result_list tbody tr", has_text="bjorn@example.se")
    assert "Misslyckad" in row.inner_text()
    assert "Gav upp efter 1 försök." in row.inner_text()
    page.screenshot(path=SCREENSHOTS / "staff-booking-list-failed.png", full_page=True)

    row.get_by_role("link", name="Björn Berg").click()
    assert "Mäklarsystemet är upptaget eller fungerar inte (HTTP 503)." in page.content()
    page.screenshot(path=SCREENSHOTS / "staff-booking-page-failed.png", full_page=True)
    page.get_by_role("button", name="Skicka igen", exact=True).click()
    assert "1 bokning köad för att skickas igen." in page.locator(".messagelist").inner_text()

    call_command("db_worker", batch=True, no_startup_delay=True, verbosity=0)
    page.reload()

    assert page.locator(".booking-status").inner_text() == "Levererad"
    assert page.get_by_role("button", name="Skicka igen", exact=True).count() == 0
    page.screenshot(path=SCREENSHOTS / "staff-booking-page-delivered.png", full_page=True)
    assert Booking.objects.get().status == Booking.Status.DELIVERED
    assert [entry["body"]["email"] for entry in sandbox.received("mspecs")] == ["bjorn@example.se"]
