"""An agency administrator imports an MSPECS deal in a real browser (Debian's Chromium,
headless, driven by Playwright) and copies the public booking link of one of its
viewings, which opens that viewing's booking page. Skipped, with the reason, where
Chromium or Playwright is missing."""

import zoneinfo
from datetime import datetime

import pytest

from agencies.models import BrokerSystem, Membership
from tests import test_browser_booking
from tests.factories import (
    make_agency,
    make_staff_user,
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


def test_an_administrator_imports_a_deal_and_copies_a_public_link(browser, live_server, sandbox):
    agency = make_agency(BrokerSystem.MSPECS, sandbox=sandbox, name="Mäklarhuset")
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

    assert "Importerat: 2 visningar (2 nya)." in page.content()
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
