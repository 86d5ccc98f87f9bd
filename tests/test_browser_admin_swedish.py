"""Staff read the admin in Swedish in a real browser (Debian's Chromium, driven by
Playwright), on a desktop 1440 px wide and a phone 390 px wide: the start page, the
data-request look-up, a delivery attempt's and a booking's page and a form with times show
no English once the admin's scripts have run (the browser is an hour off the server, so
Django's time-zone note shows), and the look-up fits the window. Screenshots in
var/screenshots/. Skipped where Chromium or Playwright is missing, as
tests/test_browser_booking.py is."""

import pytest
from django.urls import reverse

from agencies.models import ApiKey
from bookings.models import DeliveryAttempt
from tests.factories import make_user_in_role
from tests.test_admin_in_swedish import english_on, one_of_everything
from tests.test_browser_booking import SCREENSHOTS, browser, new_page, pytestmark, sign_in  # noqa: F401

SCREENS = {"desktop": (1440, 900), "phone": (390, 844)}


def signed_in_page(browser, live_server, user, screen):  # noqa: F811
    width, height = SCREENS[screen]
    page = new_page(browser, width, height, timezone_id="UTC")
    sign_in(page, live_server, user.username)
    page.wait_for_url("**/admin/")
    return page


def read(page, live_server, path, screenshot):
    page.goto(f"{live_server.url}{path}")
    page.wait_for_load_state("networkidle")  # the admin's scripts add their own words
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / screenshot, full_page=True)
    return page.content()


@pytest.mark.parametrize("screen", SCREENS)
def test_the_start_page_data_requests_and_an_attempt_read_in_swedish(
    browser,  # noqa: F811
    live_server,
    screen,
):
    agency, booking = one_of_everything()
    user = make_user_in_role("administrator", agency)
    page = signed_in_page(browser, live_server, user, screen)
    attempt = DeliveryAttempt.objects.filter(booking=booking).first()
    data = [user.username, agency.slug, "/deals/d1/viewings"]
    data += ApiKey.objects.values_list("prefix", flat=True)
    pages = {
        "admin-start-page": reverse("admin:index"),
        "admin-data-request": reverse("admin:bookings_datarequest_buyer") + "?email=asa@exempel.se",
        "admin-delivery-attempt": reverse(
            "admin:bookings_deliveryattempt_change", args=[attempt.pk]
        ),
        "admin-booking": reverse("admin:bookings_booking_change", args=[booking.pk]),
        "admin-viewing-add": reverse("admin:bookings_viewing_add"),
    }

    english = {
        name: english_on(read(page, live_server, path, f"{name}-{screen}.png"), data)
        for name, path in pages.items()
    }

    assert {name: words for name, words in english.items() if words} == {}


def test_the_data_request_look_up_fits_a_1440_px_window(browser, live_server):  # noqa: F811
    agency, _booking = one_of_everything()
    user = make_user_in_role("superuser", agency)
    page = signed_in_page(browser, live_server, user, "desktop")

    read(
        page,
        live_server,
        reverse("admin:bookings_datarequest_buyer") + "?email=asa@exempel.se",
        "admin-data-request-fits-1440.png",
    )

    assert page.locator("table.buyer-record").count() >= 3
    assert page.evaluate("document.scrollingElement.scrollWidth") <= page.evaluate(
        "window.innerWidth"
    )


def test_the_attempt_and_slot_rows_show_their_last_column_at_1440_px(browser, live_server):  # noqa: F811
    agency, booking = one_of_everything()
    user = make_user_in_role("administrator", agency)
    page = signed_in_page(browser, live_server, user, "desktop")
    pages = {
        "admin-booking-rows-1440": reverse("admin:bookings_booking_change", args=[booking.pk]),
        "admin-viewing-rows-1440": reverse(
            "admin:bookings_viewing_change", args=[booking.viewing_id]
        ),
    }

    overflowing = {}
    for name, path in pages.items():
        read(page, live_server, path, f"{name}.png")
        overflowing[name] = page.locator(".inline-related.tabular div.wrapper").evaluate_all(
            "boxes => boxes.filter(box => box.scrollWidth > box.clientWidth).length"
        )

    assert overflowing == dict.fromkeys(pages, 0)
