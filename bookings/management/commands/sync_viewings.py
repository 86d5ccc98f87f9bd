from django.core.management.base import BaseCommand

from bookings.viewing_import import sync


class Command(BaseCommand):
    help = (
        "Re-read the MSPECS deals and Vitec estates behind upcoming imported viewings (of "
        "Vitec's, those it lists as changed), one request each, and apply what changed. Run it "
        "by hand only for MSPECS: MSPECS forbids scheduled deal reads (docs/mspecs.md), which "
        "the worker's schedule leaves out."
    )

    def handle(self, **options):
        summary = sync.sync_changed(sync.sources_of(sync.syncable_viewings()))
        for source, message in summary.errors.items():
            self.stderr.write(f"{source}: {message}")
        style = self.style.ERROR if summary.errors else self.style.SUCCESS
        self.stdout.write(style(str(summary)))
