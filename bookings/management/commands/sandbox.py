import contextlib
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Count
from django.utils import timezone

from bookings.models import Booking, ViewingSlot
from bookings.providers.vitec.demo import DEMO_ESTATES, seed_demo_estates
from bookings.sandbox import DEFAULT_SLOT_CAPACITY, SandboxProviders


class Command(BaseCommand):
    help = "Serve the sandbox MSPECS and Vitec servers on loopback (for the demo and benches)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.SANDBOX_HOST)
        parser.add_argument("--port", type=int, default=settings.SANDBOX_PORT)
        parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")

    def handle(self, host, port, latency, **options):
        sandbox = SandboxProviders(host, port)
        sandbox.set_latency(latency)
        seed_deals(sandbox)
        seed_vitec_estates(sandbox, demo_start())
        self.stdout.write(
            f"Sandbox broker systems: MSPECS {sandbox.mspecs_url}, Vitec {sandbox.vitec_url}"
        )
        with contextlib.suppress(KeyboardInterrupt):
            sandbox.serve_forever()


def seed_deals(sandbox: SandboxProviders) -> None:
    """Know the slots of the MSPECS viewings in the database, with their bookings so far,
    so that slot-status polling has something true to report; and hold the MSPECS deals
    the demo agencies can import (`demo_mspecs_deals`)."""
    for deal in demo_mspecs_deals(timezone.localdate()):
        sandbox.set_mspecs_deal(deal["id"], deal)
    slots = ViewingSlot.objects.filter(viewing__mspecs_deal_id__gt="").select_related("viewing")
    for slot in slots:
        capacity = slot.number_booked if slot.fully_booked else DEFAULT_SLOT_CAPACITY
        sandbox.set_deal(
            slot.viewing.mspecs_deal_id,
            {slot.provider_slot_id: capacity},
            booked={slot.provider_slot_id: slot.number_booked},
        )


def demo_mspecs_deals(today) -> list[dict]:
    """Deals as MSPECS answers `GET /api/marketing/deals/{dealId}` (docs/mspecs.md), in the
    coming week: DEAL-2001 with a time-slot viewing and one with a date and time, DEAL-2002
    with a viewing on a date only, DEAL-2003 sold."""

    def at(days: int, hour: int) -> datetime:
        day = today + timedelta(days=days)
        return datetime.combine(day, time(hour), timezone.get_current_timezone())

    def iso(moment: datetime) -> str:
        return moment.isoformat(timespec="seconds")

    def deal(
        deal_id, street, postal_code, city, viewings, sale_status="ENUMS_SALE_STATUS_FOR_SALE"
    ):
        return {
            "id": deal_id,
            "objectType": {
                "constant": "OBJECT_TYPE_TENANT_OWNERSHIP",
                "translation": "Bostadsrätt",
            },
            "isInternational": False,
            "isNewDevelopment": False,
            "currency": "SEK",
            "users": [],
            "publishingInformation": {
                "status": "ENUM_DEAL_MARKETING_PLACES_STATUS_PUBLISHED",
                "updated": iso(at(-1, 9)),
                "saleStatus": sale_status,
                "isPreview": False,
            },
            "location": {"streetAddress": street, "postalCode": postal_code, "city": city},
            "viewings": viewings,
        }

    slots_start = at(3, 17)
    return [
        deal(
            "DEAL-2001",
            "Götgatan 12",
            "118 46",
            "Stockholm",
            [
                {
                    "id": "VIEW-2001-A",
                    "type": "ENUMS_VIEWINGS_TYPE_TIME_SLOTS",
                    "startDate": iso(slots_start),
                    "slotLength": 20,
                    "slotCapacity": 4,
                    "allowExternalBooking": True,
                    "externalBookingLatestHourBefore": 2,
                    "hideStartDate": False,
                    "slots": [
                        {
                            "id": f"SLOT-2001-A{n}",
                            "startTime": iso(slots_start + timedelta(minutes=20 * n)),
                            "freeSpots": 4,
                        }
                        for n in range(3)
                    ],
                },
                {
                    "id": "VIEW-2001-B",
                    "type": "ENUMS_VIEWINGS_TYPE_DATE_AND_TIME",
                    "startDate": iso(at(5, 11)),
                    "endDate": iso(at(5, 12)),
                    "allowExternalBooking": True,
                },
            ],
        ),
        deal(
            "DEAL-2002",
            "Ringvägen 3",
            "752 37",
            "Uppsala",
            [
                {
                    "id": "VIEW-2002-A",
                    "type": "ENUMS_VIEWINGS_TYPE_DATE_ONLY",
                    "startDate": (today + timedelta(days=6)).isoformat(),
                    "description": "Ring mäklaren för tid",
                    "allowExternalBooking": True,
                }
            ],
        ),
        # Sold: MSPECS answers a sold deal without viewings (marketing_soldDealRoot).
        {
            key: value
            for key, value in deal(
                "DEAL-2003", "Hamngatan 8", "211 22", "Malmö", [], "ENUMS_SALE_STATUS_SOLD"
            ).items()
            if key != "viewings"
        },
    ]


def demo_start() -> datetime:
    """When the demo's viewings start: tomorrow at five in the afternoon."""
    today = timezone.localtime().replace(hour=17, minute=0, second=0, microsecond=0)
    return today + timedelta(days=1)


def seed_vitec_estates(sandbox: SandboxProviders, starts_at: datetime) -> None:
    """Publish the demo's Vitec estates, listing as participants the bookings the database
    has delivered into their time slots, as Vitec would."""
    delivered = (
        Booking.objects.filter(
            viewing__source_id__in=DEMO_ESTATES,
            status__in=Booking.Status.live(),
            delivered_at__isnull=False,
        )
        .values("slot__provider_slot_id")
        .annotate(number=Count("pk"))
    )
    seed_demo_estates(
        sandbox, starts_at, {row["slot__provider_slot_id"]: row["number"] for row in delivered}
    )
