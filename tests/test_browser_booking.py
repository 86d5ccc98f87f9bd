"""A buyer books a slot in a real browser (Debian's Chromium, headless, driven by
Playwright), the worker delivers it to the sandbox MSPECS, and staff see it delivered in
the admin. Skipped, with the reason, where Chromium or Playwright is missing."""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections

from bookings.models import Booking
from tests.factories import make_agency, make_three_slot_viewing

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API keeps an event loop running in this thread, which makes
    # Django refuse ORM calls from it; the test's own ORM calls are synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True
        )
        yield browser
        # ORM calls made while Playwright runs get their own connection (its greenlet
        # has its own context); close it here or the test database cannot be dropped.
        connections.close_all()
        browser.close()


def new_page(browser, width=1280, height=900, locale="sv-SE", **options):
    """A page in a fresh browser context: Swedish and desktop-sized unless told otherwise."""
    return browser.new_context(
        locale=locale, viewport={"width": width, "height": height}, **options
    ).new_page()


def phone_page(browser, locale="sv-SE"):
    # A phone-sized screen without JavaScript: the buyer's pages must work without it.
    return new_page(browser, 390, 844, locale, java_script_enabled=False)


def sign_in(page, live_server, username, next_path="/admin/", password="pw") -> None:
    """Sign in on the Swedish admin login page, which then opens next_path."""
    page.goto(f"{live_server.url}/admin/login/?next={next_path}")
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill(password)
    page.get_by_role("button", name="Logga in").click()


def book_the_open_slot(page) -> None:
    """Anna books the open slot on the Swedish booking page and lands on her status page."""
    page.locator('input[value="slot-open"]').check()
    page.get_by_label("Förnamn").fill("Anna")
    page.get_by_label("Efternamn").fill("Andersson")
    page.get_by_label("E-post").fill("anna@example.se")
    page.get_by_label("Mobilnummer").fill("070-111 11 11")
    page.get_by_label("Jag samtycker").check()
    page.get_by_role("button", name="Boka").click()
    page.wait_for_url("**/booking/**")


def test_buyer_books_a_slot_and_staff_see_it_delivered(browser, live_server, sandbox, admin_user):
    viewing = make_three_slot_viewing(make_agency(sandbox=sandbox))
    sandbox.set_deal(viewing.mspecs_deal_id, {"slot-open": 10, "slot-full": 5})
    page = phone_page(browser)

    page.goto(f"{live_server.url}/book/{viewing.public_id}/")
    assert page.get_by_label("Förnamn").is_visible()
    assert page.locator('input[value="slot-full"]').is_disabled()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "public-booking-page.png", full_page=True)
    book_the_open_slot(page)
    assert "Din bokning är mottagen" in page.content()
    page.screenshot(path=SCREENSHOTS / "public-booking-confirmed.png", full_page=True)

    call_command("db_worker", batch=True, no_startup_delay=True, verbosity=0)

    sign_in(page, live_server, admin_user.username, "/admin/bookings/booking/", "password")
    row = page.locator("#result_list tbody tr", has_text="anna@example.se")
    assert "Levererad" in row.inner_text()
    assert Booking.objects.get().status == Booking.Status.DELIVERED
    assert [entry["body"]["email"] for entry in sandbox.received("mspecs")] == ["anna@example.se"]


def test_the_public_page_and_the_admin_break_no_rule_of_the_content_security_policy(
    browser, live_server, admin_user
):
    viewing = make_three_slot_viewing(make_agency())
    page = browser.new_context(locale="sv-SE").new_page()
    refusals = []
    page.on(
        "console",
        lambda message: (
            refusals.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    page.goto(f"{live_server.url}/book/{viewing.public_id}/")
    # The stylesheet loaded: the page's own background, not the browser's white.
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(246, 247, 249)"
    sign_in(page, live_server, admin_user.username, password="password")
    for path in ["/admin/", "/admin/bookings/booking/", "/admin/agencies/agency/add/"]:
        page.goto(f"{live_server.url}{path}")
        assert page.locator("#content").is_visible()

    assert refusals == []
