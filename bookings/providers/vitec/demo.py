"""The demo's Vitec estates, in Vitec's published shapes (docs/vitec.md), for
`manage.py demo` and `manage.py sandbox` to publish in the sandbox (never used at runtime)."""

from datetime import datetime, timedelta

# The demo's Vitec estates, with ids in the form Vitec's documentation shows: `manage.py
# demo` imports the first; the second, its street address hidden, waits on the import page.
DEMO_ESTATE = "OBJ20001_1000001"
DEMO_ESTATES = {
    DEMO_ESTATE: {
        "street_address": "Kungsgatan 5",
        "zip_code": "411 19",
        "postal_town": "Göteborg",
        "heading": "Ljus trea med balkong mot gården",
    },
    "OBJ20001_1000002": {
        "zip_code": "436 39",
        "postal_town": "Askim",
        "heading": "Sjönära villa med egen brygga",
    },
}


def seed_demo_estates(
    providers, starts_at: datetime, participants: dict[str, int] | None = None
) -> None:
    """Publish the demo's estates in the sandbox (`providers`, its state), their viewings
    from `starts_at`: the first estate's two 20-minute time slots take 4 buyers each, and
    Vitec lists one who booked through its own form in the first, plus `participants`
    (time slot id -> how many more)."""
    participants = participants or {}

    def time_slot(slot_id: str, start: datetime, listed: int) -> dict:
        listed += participants.get(slot_id, 0)
        return {
            "id": slot_id,
            "startsAt": start.isoformat(),
            "endsAt": (start + timedelta(minutes=20)).isoformat(),
            "participants": [
                {"contactId": f"ADRDEMO{slot_id}{n}", "hasParticipated": False}
                for n in range(listed)
            ],
        }

    def viewing(viewing_id: str, start: datetime, slots: list[dict], places: int) -> dict:
        return {
            "id": viewing_id,
            "startsAt": start.isoformat(),
            "endsAt": (start + timedelta(minutes=20 * len(slots))).isoformat(),
            "showOnInternet": True,
            "participantPerTimeSlot": places,
            "bookableFromInternet": True,
            "noLaterThen": (start - timedelta(hours=2)).isoformat(),
            "timeSlots": slots,
        }

    first, later = starts_at, starts_at + timedelta(days=2)
    viewings = {
        DEMO_ESTATE: [
            viewing(
                "VIS20001_1001",
                first,
                [
                    time_slot("TID20001_1001_1", first, 1),
                    time_slot("TID20001_1001_2", first + timedelta(minutes=20), 0),
                ],
                places=4,
            )
        ],
        "OBJ20001_1000002": [
            viewing("VIS20001_1002", later, [time_slot("TID20001_1002_1", later, 0)], places=0)
        ],
    }
    for estate_id, estate in DEMO_ESTATES.items():
        providers.set_vitec_estate(estate_id, viewings[estate_id], **estate)
