"""The buyer's side in a real browser (Debian's Chromium, headless, through Playwright, as
in tests/test_browser_booking.py): book, open the private status link, download the .ics,
cancel; and a closed viewing's page. Screenshots go to var/screenshots/."""

from pathlib import Path

import pytest
from icalendar import Calendar

from bookings.models import Booking, Viewing
from tests.factories import make_agency, make_three_slot_viewing
from tests.test_browser_booking import (  # noqa: F401 (browser: the fixture)
    CHROMIUM,
    SCREENSHOTS,
    book_the_open_slot,
    browser,
)

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]


def phone_page(browser, locale="sv-SE"):  # noqa: F811 (the fixture)
    # A phone-sized screen without JavaScript: the buyer's pages must work without it.
    return browser.new_context(
        locale=locale, viewport={"width": 390, "height": 844}, java_script_enabled=False
    ).new_page()


def test_buyer_books_opens_the_status_link_downloads_the_calendar_and_cancels(
    browser,  # noqa: F811 (the fixture)
    live_server,
):
    agency = make_agency(
        name="Mäklarhuset Uppsala", privacy_policy_url="https://maklarhuset.example.se/integritet"
    )
    viewing = make_three_slot_viewing(agency)
    page = phone_page(browser)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(f"{live_server.url}/book/{viewing.public_id}/")
    assert page.get_by_text("Jag samtycker till att Mäklarhuset Uppsala behandlar").is_visible()
    assert page.get_by_role("link", name="integritetspolicy").get_attribute("href") == (
        "https://maklarhuset.example.se/integritet"
    )
    book_the_open_slot(page)

    # The confirmation is the private status page: its address is the buyer's link.
    status_link = page.url
    assert page.get_by_role("heading", name="Din bokning är mottagen").is_visible()
    assert "Till dess är inget bekräftat." in page.content()
    page.screenshot(path=SCREENSHOTS / "buyer-status-received.png", full_page=True)

    # Opened again later, e.g. from another tab, in the language the buyer booked in.
    page = phone_page(browser, locale="en-GB")
    page.goto(status_link)
    assert page.get_by_role("heading", name="Din bokning är mottagen").is_visible()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Lägg till i min kalender (.ics)").click()
    download = download_info.value
    assert download.suggested_filename == "visning-storgatan-1-3-rok-annu-inte-bekraftad.ics"
    [event] = Calendar.from_ical(Path(download.path()).read_bytes()).walk("VEVENT")
    booking = Booking.objects.get()
    assert event.decoded("dtstart") == booking.slot.starts_at.replace(microsecond=0)
    assert str(event["summary"]) == f"Visning: {viewing.title}"

    page.get_by_role("link", name="Avboka").click()
    assert page.get_by_role("heading", name="Avboka din bokning?").is_visible()
    page.get_by_role("button", name="Ja, avboka").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Din bokning är avbokad").is_visible()
    assert page.get_by_role("link", name="Avboka").count() == 0
    page.screenshot(path=SCREENSHOTS / "buyer-status-cancelled.png", full_page=True)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED


def test_a_closed_viewings_link_shows_a_friendly_page(
    browser,  # noqa: F811 (the fixture)
    live_server,
):
    viewing = make_three_slot_viewing(make_agency(name="Mäklarhuset Uppsala"))
    Viewing.objects.filter(pk=viewing.pk).update(is_open=False)
    page = phone_page(browser, locale="en-GB")

    response = page.goto(f"{live_server.url}/book/{viewing.public_id}/")

    assert response.status == 410
    assert page.get_by_role("heading", name="This viewing is no longer bookable").is_visible()
    assert "Contact Mäklarhuset Uppsala" in page.content()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "viewing-closed.png", full_page=True)
    page.get_by_role("button", name="Svenska").click()
    assert page.get_by_role("heading", name="Visningen går inte längre att boka").is_visible()


def test_the_language_switch_keeps_what_the_buyer_typed_and_the_chosen_time(
    browser,  # noqa: F811 (the fixture)
    live_server,
):
    viewing = make_three_slot_viewing(make_agency(name="Mäklarhuset Uppsala"))
    page = phone_page(browser)
    page.goto(f"{live_server.url}/book/{viewing.public_id}/")
    page.locator('input[value="slot-open"]').check()
    page.get_by_label("Förnamn").fill("Anna")
    page.get_by_label("E-post").fill("anna@example.se")
    page.get_by_label("Mobilnummer").fill("070-111 11 11")

    page.get_by_role("button", name="English").click()

    assert page.get_by_role("heading", name="Storgatan 1, 3 rok").is_visible()
    assert page.get_by_label("First name").input_value() == "Anna"
    assert page.get_by_label("Email").input_value() == "anna@example.se"
    assert page.get_by_label("Mobile phone").input_value() == "070-111 11 11"
    assert page.get_by_label("Mobile phone").get_attribute("type") == "tel"
    assert page.locator('input[value="slot-open"]').is_checked()
    assert not page.get_by_text("Please correct the errors below.").is_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "booking-page-switched-to-english.png", full_page=True)
    assert Booking.objects.count() == 0
