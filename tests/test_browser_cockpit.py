"""Staff sign in, in Swedish, in a real browser 1280 px wide (Debian's Chromium, driven by
Playwright): the start page says what needs them, and the booking list fits the window with
the status first. Screenshots in var/screenshots/. Skipped where Chromium or Playwright is
missing, as tests/test_browser_booking.py is."""

from datetime import timedelta

from django.utils import timezone

from agencies.problems import Problem
from bookings.models import Booking
from tests.factories import make_agency, make_booking, make_slot, make_staff_user, make_viewing
from tests.test_browser_booking import SCREENSHOTS, browser, new_page, pytestmark, sign_in  # noqa: F401

WIDTH = 1280


def test_staff_see_what_needs_them_and_the_whole_booking_list_at_1280_px(browser, live_server):  # noqa: F811
    agency = make_agency(name="Mäklarhuset Östra Sörmland")
    viewing = make_viewing(
        agency,
        title="Drottninggatan 114, 4 rok med balkong och utsikt över Fyrisån",
        starts_at=timezone.now() + timedelta(days=3),
    )
    statuses = [
        Booking.Status.REJECTED,
        Booking.Status.FAILED,
        Booking.Status.RETRYING,
        Booking.Status.HELD,
        Booking.Status.NEEDS_REVIEW,
        Booking.Status.DELIVERED,
    ]
    for n, status in enumerate(statuses):
        make_booking(
            viewing,
            make_slot(viewing, starts_at=viewing.starts_at + timedelta(minutes=20 * n)),
            first_name="Anna-Karin Margareta",
            last_name="Björkström-Östlund",
            email=f"anna-karin.bjorkstrom-ostlund{n}@exempel-maklarbyran.se",
            status=status,
            attempt_count=6,
            next_attempt_at=timezone.now() + timedelta(minutes=10),
            last_problem=Problem(
                "legacy", {"text": "Mäklarsystemet avvisade uppgifterna: telefonnummer ogiltigt"}
            ),
        )
    staff = make_staff_user(agency)
    page = new_page(browser, WIDTH)

    sign_in(page, live_server, staff.username)
    page.wait_for_url("**/admin/")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "admin-start-page-1280.png", full_page=True)
    assert page.get_by_text("Det här behöver dig").is_visible()
    assert page.locator("#bookings-chart svg rect").count() >= 1

    page.get_by_role("link", name="1 misslyckad").click()
    page.wait_for_url("**/admin/bookings/booking/?*")
    page.goto(f"{live_server.url}/admin/bookings/booking/")
    page.screenshot(path=SCREENSHOTS / "admin-booking-list-1280.png", full_page=True)

    columns = page.locator("#result_list thead th").evaluate_all(
        "cells => cells.map(cell => cell.className)"
    )
    assert "column-coloured_status" in columns[1]
    # Nothing scrolls sideways: neither the page nor the list inside it.
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    results = page.locator("#changelist .results")
    assert results.evaluate("box => box.scrollWidth <= box.clientWidth")
    table = page.locator("#result_list").bounding_box()
    assert table["x"] + table["width"] <= WIDTH
    status = page.locator("#result_list td.field-coloured_status").first.bounding_box()
    assert status["x"] >= 0 and status["x"] + status["width"] <= WIDTH
