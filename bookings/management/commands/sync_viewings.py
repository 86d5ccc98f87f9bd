from django.core.management.base import BaseCommand

from bookings.viewing_import import sync


class Command(BaseCommand):
    help = (
        "Re-read every MSPECS deal and Vitec estate behind an upcoming imported viewing, one "
        "request each, and apply what changed. Run it by hand only: MSPECS forbids scheduled "
        "deal reads (docs/mspecs.md), which the worker's schedule leaves out."
    )

    def handle(self, **options):
        summary = sync.sync_sources(sync.sources_of(sync.syncable_viewings()))
        for source, message in summary.errors.items():
            self.stderr.write(f"{source}: {message}")
        style = self.style.ERROR if summary.errors else self.style.SUCCESS
        self.stdout.write(style(str(summary)))
