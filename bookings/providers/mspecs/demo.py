"""The demo's MSPECS deals, in MSPECS's published shapes (docs/mspecs.md), for `manage.py
demo` and `manage.py sandbox` to publish in the sandbox (never used at runtime)."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone

# The demo's MSPECS deals, all left on the import page's list: one with a time-slot viewing
# and a viewing with a date and time, one with a viewing on a date only, one sold.
DEMO_TIMED_DEAL = "DEAL-2001"
DEMO_DATE_ONLY_DEAL = "DEAL-2002"
DEMO_SOLD_DEAL = "DEAL-2003"


def published_deal(
    deal_id: str,
    viewings: list[dict],
    *,
    location: dict,
    updated: str,
    sale_status: str = "ENUMS_SALE_STATUS_FOR_SALE",
    object_type: tuple[str, str] = ("OBJECT_TYPE_TENANT_OWNERSHIP", "Bostadsrätt"),
) -> dict:
    """A published deal as `GET /api/marketing/deals/{dealId}` answers it (marketing_dealRoot:
    its required fields and the ones we read; contract/deal.schema.json)."""
    constant, translation = object_type
    return {
        "id": deal_id,
        "objectType": {"constant": constant, "translation": translation},
        "isInternational": False,
        "isNewDevelopment": False,
        "currency": "SEK",
        "users": [],
        "publishingInformation": {
            "status": "ENUM_DEAL_MARKETING_PLACES_STATUS_PUBLISHED",
            "updated": updated,
            "saleStatus": sale_status,
            "isPreview": False,
        },
        "location": location,
        "viewings": viewings,
    }


def demo_deals(today: date) -> list[dict]:
    """The deals as MSPECS answers `GET /api/marketing/deals/{dealId}`, their viewings in
    the coming week."""

    def at(days: int, hour: int) -> datetime:
        day = today + timedelta(days=days)
        return datetime.combine(day, time(hour), timezone.get_current_timezone())

    def iso(moment: datetime) -> str:
        return moment.isoformat(timespec="seconds")

    def deal(
        deal_id, street, postal_code, city, viewings, sale_status="ENUMS_SALE_STATUS_FOR_SALE"
    ):
        location = {"streetAddress": street, "postalCode": postal_code, "city": city}
        return published_deal(
            deal_id, viewings, location=location, updated=iso(at(-1, 9)), sale_status=sale_status
        )

    slots_start = at(3, 17)
    return [
        deal(
            DEMO_TIMED_DEAL,
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
            DEMO_DATE_ONLY_DEAL,
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
                DEMO_SOLD_DEAL, "Hamngatan 8", "211 22", "Malmö", [], "ENUMS_SALE_STATUS_SOLD"
            ).items()
            if key != "viewings"
        },
    ]


def seed_demo_deals(providers, today: date) -> None:
    """Publish the demo's deals in the sandbox (`providers`, its state)."""
    for deal in demo_deals(today):
        providers.set_mspecs_deal(deal["id"], deal)
