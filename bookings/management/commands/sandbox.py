import contextlib

from django.conf import settings
from django.core.management.base import BaseCommand

from bookings.models import ViewingSlot
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
        self.stdout.write(
            f"Sandbox broker systems: MSPECS {sandbox.mspecs_url}, Vitec {sandbox.vitec_url}"
        )
        with contextlib.suppress(KeyboardInterrupt):
            sandbox.serve_forever()


def seed_deals(sandbox: SandboxProviders) -> None:
    """Know the slots of the MSPECS viewings in the database, with their bookings so far,
    so that slot-status polling has something true to report."""
    slots = ViewingSlot.objects.filter(viewing__mspecs_deal_id__gt="").select_related("viewing")
    for slot in slots:
        capacity = slot.number_booked if slot.fully_booked else DEFAULT_SLOT_CAPACITY
        sandbox.set_deal(
            slot.viewing.mspecs_deal_id,
            {slot.provider_slot_id: capacity},
            booked={slot.provider_slot_id: slot.number_booked},
        )
