import contextlib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Count
from django.utils import timezone

from bookings.models import Booking, ViewingSlot
from bookings.providers.mspecs.demo import seed_demo_deals
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
        seed(sandbox)
        self.stdout.write(
            f"Sandbox providers: MSPECS {sandbox.mspecs_url}, Vitec {sandbox.vitec_url}"
        )
        with contextlib.suppress(KeyboardInterrupt):
            sandbox.serve_forever()


def seed(sandbox: SandboxProviders) -> None:
    """What the sandbox holds for `make run`: the demo's MSPECS deals and Vitec estates, and
    the slots of the database's MSPECS viewings."""
    seed_deals(sandbox)
    seed_vitec_estates(sandbox, demo_start())


def seed_deals(sandbox: SandboxProviders) -> None:
    """Hold the MSPECS deals the demo agencies can import (bookings/providers/mspecs/demo.py),
    and know the slots of the MSPECS viewings in the database, with their bookings so far,
    so that slot-status polling has something true to report."""
    seed_demo_deals(sandbox, timezone.localdate())
    slots = ViewingSlot.objects.filter(viewing__mspecs_deal_id__gt="").select_related("viewing")
    for slot in slots:
        capacity = slot.number_booked if slot.fully_booked else DEFAULT_SLOT_CAPACITY
        sandbox.set_deal(
            slot.viewing.mspecs_deal_id,
            {slot.provider_slot_id: capacity},
            booked={slot.provider_slot_id: slot.number_booked},
        )


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
