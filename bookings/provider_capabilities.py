"""Each provider's plug-in by name (an Agency's `provider`), for the models: they
sit below the plug-ins (bookings/providers/, whose clients read and write them), so the
plug-ins register here and a model asks what a system can do without importing them.
bookings/apps.py imports the plug-ins when the app is ready, before any model asks."""

from typing import Protocol


class Capabilities(Protocol):
    """What the models ask of a plug-in (bookings.providers.base.ProviderPlugin)."""

    every_viewing_has_slots: bool
    polls_slot_status: bool
    field_limits: dict[str, int]


# Filled by bookings/providers/__init__.py, one entry per plug-in.
PLUGINS: dict[str, Capabilities] = {}


def capabilities_of(provider: str) -> Capabilities:
    return PLUGINS[provider]
