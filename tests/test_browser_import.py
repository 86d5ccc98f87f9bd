"""An agency administrator imports an MSPECS deal in a real browser (Debian's Chromium,
headless, driven by Playwright): named by its id, or picked from the agency's published
deals; the public booking link of one of its viewings opens that viewing's booking page.
Skipped, with the reason, where Chromium or Playwright is missing."""

import zoneinfo
from datetime import date, datetime

import pytest

from agencies.models import Membership, Provider
from tests import test_browser_booking
from tests.factories import (
    make_agency,
    make_staff_user,
    mspecs_date_only_viewing,
    mspecs_deal,
    mspecs_ordinary_viewing,
    mspecs_slot_viewing,
)
from tests.test_browser_booking import CHROMIUM, SCREENSHOTS

# The same headless Chromium as the booking flow's (skipped without Playwright).
browser = test_browser_booking.browser

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]
START = datetime(2031, 6, 10, 17, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Stockholm"))
DAY = date(2031, 6, 14)


def test_an_administrator_imports_a_deal_and_copies_a_public_link(browser, live_server, sandbox):
    agency = make_agency(Provider.MSPECS, sandbox=sandbox, name="Mäklarhuset")
    sandbox.set_mspecs_deal(
        "deal-77",
        mspecs_deal(
            "deal-77",
            [
                mspecs_slot_viewing("v-slots", START, ["s-1", "s-2"]),
                mspecs_ordinary_viewing("v-open", START.replace(day=11)),
            ],
        ),
    )
    administrator = make_staff_user(agency, role=Membership.Role.ADMIN, username="anna-admin")
    context = browser.new_context(locale="sv-SE", permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    refusals = []
    page.on(
        "console",
        lambda message: (
            refusals.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(f"{live_server.url}/admin/login/?next=/admin/bookings/viewing/")
    page.get_by_label("Användarnamn").fill(administrator.username)
    page.get_by_label("Lösenord").fill("pw")
    page.get_by_role("button", name="Logga in").click()
    page.get_by_role("link", name="Importera från mäklarsystemet").click()
    page.get_by_label("Byrå").select_option(str(agency.pk))
    page.get_by_label("Affärs- eller objekt-id").fill("deal-77")
    page.screenshot(path=SCREENSHOTS / "import-form.png", full_page=True)
    page.get_by_role("button", name="Importera visningar").click()

    assert "Importerat: 2 visningar (nya: 2)." in page.content()
    page.screenshot(path=SCREENSHOTS / "import-result.png", full_page=True)
    first_copy = page.get_by_role("button", name="Kopiera").first
    first_copy.click()
    page.wait_for_function("document.querySelector('button.copy-link').textContent === 'Kopierad'")
    link = page.evaluate("navigator.clipboard.readText()")
    assert link.startswith(f"{live_server.url}/book/")

    page.goto(link)
    assert page.get_by_role("heading", name="Storgatan 1").is_visible()
    page.screenshot(path=SCREENSHOTS / "import-copied-link-opened.png", full_page=True)
    assert refusals == []


def test_an_administrator_picks_a_published_deal_and_opens_its_date_only_viewing(
    browser, live_server, sandbox
):
    agency = make_agency(Provider.MSPECS, sandbox=sandbox, name="Mäklarhuset")
    sandbox.set_mspecs_deal(
        "deal-88",
        mspecs_deal(
            "deal-88",
            [mspecs_date_only_viewing("v-day", DAY)],
            shortId="DF4 HG9",
            location={"streetAddress": "Råsundavägen 4", "postalCode": "169 67", "city": "Solna"},
        ),
    )
    sandbox.set_mspecs_deal(
        "deal-89", mspecs_deal("deal-89", [mspecs_ordinary_viewing("v-open", START)])
    )
    administrator = make_staff_user(agency, role=Membership.Role.ADMIN, username="anna-admin")
    page = browser.new_context(locale="sv-SE").new_page()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(f"{live_server.url}/admin/login/?next=/admin/bookings/viewing/")
    page.get_by_label("Användarnamn").fill(administrator.username)
    page.get_by_label("Lösenord").fill("pw")
    page.get_by_role("button", name="Logga in").click()
    page.get_by_role("link", name="Importera från mäklarsystemet").click()
    page.get_by_label("Byrå").select_option(str(agency.pk))
    page.get_by_role("button", name="Lista affärer och objekt").click()
    # The list is a choice box; the id field beside it is a text box.
    listed = page.get_by_role("combobox", name="Affär eller objekt")
    listed.select_option(label="Råsundavägen 4, 169 67 Solna (DF4 HG9)")
    page.screenshot(path=SCREENSHOTS / "import-published-deals.png", full_page=True)
    page.get_by_role("button", name="Importera visningar").click()

    assert "Importerat: 1 visning" in page.content()
    assert page.get_by_role("link", name="Råsundavägen 4 (2031-06-14)").is_visible()
    page.screenshot(path=SCREENSHOTS / "import-date-only-result.png", full_page=True)
    page.goto(page.get_by_label("Publik bokningslänk").input_value())
    assert page.get_by_role("heading", name="Råsundavägen 4").is_visible()
    shown = page.locator("time").first
    assert shown.get_attribute("datetime") == "2031-06-14"
    assert shown.inner_text() == "lördag 14 juni 2031"
    assert "00:00" not in page.content()
    page.screenshot(path=SCREENSHOTS / "date-only-viewing-public-page.png", full_page=True)
