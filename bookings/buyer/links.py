"""The buyer's private links: the status page, its calendar file and its cancel step,
signed with SECRET_KEY (a link cannot be guessed or forged, and needs nothing stored), and
the viewing's booking page."""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, Viewing

STATUS_SALT = "bookings.buyer-status"


def status_token(booking: Booking) -> str:
    """The same for a booking every time (no timestamp): the link in the email is the one
    the page showed."""
    return signing.Signer(salt=STATUS_SALT).sign_object(booking.pk)


def status_path(booking: Booking) -> str:
    """The buyer's private status page (relative: a request makes it absolute)."""
    return reverse("buyer-status", args=[status_token(booking)])


def email_links(booking: Booking) -> dict[str, str]:
    """The full addresses an email gives the buyer (no request to take the host from):
    their status page, its calendar file and its cancel step."""
    token = status_token(booking)
    return {
        f"{name}_link": settings.SITE_URL + reverse(f"buyer-{name}", args=[token])
        for name in ("status", "calendar", "cancel")
    }


def booking_page_path(viewing: Viewing) -> str | None:
    """The viewing's public booking page while it can still be booked, else None."""
    if not Viewing.objects.bookable().filter(pk=viewing.pk).exists():
        return None
    return reverse("booking-page", args=[viewing.public_id])


def booking_for_token(token: str) -> Booking | None:
    """The link's booking; None for a link that is not ours, or whose booking was erased
    (nothing of it is left to show)."""
    try:
        booking_id = signing.Signer(salt=STATUS_SALT).unsign_object(token)
    except signing.BadSignature:
        return None
    return (
        # Only the credential's confirmation flags are read: its secret stays encrypted.
        Booking.objects.select_related("viewing__agency__credential", "slot")
        .defer("viewing__agency__credential__secret")
        .filter(pk=booking_id, anonymised_at__isnull=True)
        .first()
    )


def link_expired(booking: Booking) -> bool:
    """BUYER_LINK_DAYS_AFTER_VIEWING days after the booked time ended."""
    days = timedelta(days=settings.BUYER_LINK_DAYS_AFTER_VIEWING)
    return booking.booked_time[1] + days < timezone.now()
