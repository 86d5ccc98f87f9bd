"""The buyer's emails in a real browser (Debian's Chromium, headless, through Playwright,
as in tests/test_browser_booking.py): a buyer books and the receipt carries a working
status link, the calendar file and cancel; staff re-send a booking whose buyer was told it
had failed, and the correcting email goes out. Screenshots go to var/screenshots/."""

import re

import pytest
from django.core import mail
from django.core.management import call_command
from icalendar import Calendar

from bookings.delivery.sending import deliver
from bookings.models import Booking
from tests.factories import make_agency, make_booking, make_staff_user, make_three_slot_viewing
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
REJECTION = {"message": "Invalid phone number."}  # a BadRequestError


def run_the_worker():
    call_command("db_worker", batch=True, no_startup_delay=True, verbosity=0)


def link_after(label: str, body: str) -> str:
    return re.search(re.escape(label) + r"\n(\S+)", body).group(1)


def phone_page(browser):  # noqa: F811 (the fixture)
    # A phone-sized screen without JavaScript: the buyer's pages must work without it.
    return browser.new_context(
        locale="sv-SE", viewport={"width": 390, "height": 844}, java_script_enabled=False
    ).new_page()


def test_a_buyer_books_and_the_receipt_carries_the_link_the_calendar_file_and_cancel(
    browser,  # noqa: F811 (the fixture)
    live_server,
    sandbox,
    settings,
):
    settings.SITE_URL = live_server.url
    agency = make_agency(sandbox=sandbox, name="Mäklarhuset Uppsala")
    viewing = make_three_slot_viewing(agency)
    sandbox.set_deal(viewing.mspecs_deal_id, {"slot-open": 10, "slot-full": 5})
    page = phone_page(browser)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(f"{live_server.url}/book/{viewing.public_id}/")
    book_the_open_slot(page)
    run_the_worker()  # the receipt, then the delivery

    [receipt] = mail.outbox
    assert receipt.to == ["anna@example.se"]
    assert receipt.subject == "Bokning mottagen, ännu inte bekräftad: Storgatan 1, 3 rok"
    assert "inte en bekräftelse från byråns mäklarsystem" in receipt.body
    status_link = link_after("Din bokning, som den står nu:", receipt.body)
    calendar_link = link_after("Lägg in den i din kalender (samma fil är bifogad):", receipt.body)
    cancel_link = link_after("Avboka din bokning:", receipt.body)

    # The status link, opened from the email in another browser.
    page = phone_page(browser)
    page.goto(status_link)
    assert page.get_by_role("heading", name="Din bokning har kommit fram till byrån").is_visible()
    page.screenshot(path=SCREENSHOTS / "buyer-receipt-status-link.png", full_page=True)

    # The attached calendar file and the linked one are the same event, not yet confirmed
    # (delivered into the quarantine, which a broker has not approved yet).
    [(name, attached, _)] = receipt.attachments
    assert name == "visning-storgatan-1-3-rok-annu-inte-bekraftad.ics"
    linked = page.request.get(calendar_link)
    assert linked.ok
    assert linked.headers["content-type"] == "text/calendar; charset=utf-8"
    [attached_event] = Calendar.from_ical(attached).walk("VEVENT")
    [linked_event] = Calendar.from_ical(linked.body()).walk("VEVENT")
    assert linked_event["uid"] == attached_event["uid"]
    assert str(linked_event["status"]) == "TENTATIVE"

    # Cancel asks once, then asks the agency (the booking reached its system).
    page.goto(cancel_link)
    assert page.get_by_role("heading", name="Avboka din bokning?").is_visible()
    page.screenshot(path=SCREENSHOTS / "buyer-receipt-cancel-step.png", full_page=True)
    page.get_by_role("button", name="Ja, avboka").click()
    page.wait_for_url(status_link)
    asked = page.get_by_role("heading", name="Du har bett om att avboka den här bokningen")
    assert asked.is_visible()
    page.screenshot(path=SCREENSHOTS / "buyer-receipt-cancel-asked.png", full_page=True)
    assert Booking.objects.get().cancellation_requested_at is not None
    assert (
        str(Calendar.from_ical(page.request.get(calendar_link).body()).walk("VEVENT")[0]["status"])
        == "CANCELLED"
    )


def test_staff_re_send_a_booking_its_buyer_was_told_had_failed_and_the_buyer_is_told(
    browser,  # noqa: F811 (the fixture)
    live_server,
    sandbox,
    settings,
):
    settings.SITE_URL = live_server.url
    agency = make_agency(sandbox=sandbox, name="Mäklarhuset")
    staff = make_staff_user(agency, username="maja")
    booking = make_booking(agency, first_name="Björn", last_name="Berg", email="bjorn@example.se")
    sandbox.set_fault(status=400, count=1, body=REJECTION)
    deliver(booking.pk)
    run_the_worker()
    [failed] = mail.outbox
    assert "så du är inte bokad" in failed.body

    page = browser.new_context(
        locale="sv-SE", viewport={"width": 1280, "height": 900}, java_script_enabled=False
    ).new_page()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/bookings/booking/{booking.pk}/change/")
    page.get_by_label("Användarnamn").fill(staff.username)
    page.get_by_label("Lösenord").fill("pw")
    page.get_by_role("button", name="Logga in").click()
    page.get_by_role("button", name="Skicka igen", exact=True).click()
    assert "1 bokning köad för att skickas igen." in page.locator(".messagelist").inner_text()
    run_the_worker()  # delivers it
    run_the_worker()  # the correction its delivery enqueued

    page.reload()
    assert page.locator(".booking-status").inner_text() == "Levererad"
    page.screenshot(path=SCREENSHOTS / "staff-resent-buyer-told.png", full_page=True)
    assert mail.outbox[0] is failed
    correction = mail.outbox[1]
    assert correction.to == ["bjorn@example.se"]
    assert correction.subject.startswith("Din visningsbokning kom fram till mäklaren ändå: ")
    assert "Så är det inte längre" in correction.body
    assert Booking.objects.get().buyer_corrected_at is not None

    # The buyer follows the correction's link and sees it there.
    buyer = phone_page(browser)
    buyer.goto(link_after("Din bokning, som den står nu:", correction.body))
    assert buyer.get_by_role("heading", name="Din bokning har kommit fram till byrån").is_visible()
    buyer.screenshot(path=SCREENSHOTS / "buyer-corrected-status.png", full_page=True)

    # Staff re-sending or not, the buyer hears it once.
    run_the_worker()
    assert len(mail.outbox) == 2
