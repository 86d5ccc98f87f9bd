from django.core.management.base import BaseCommand

from bookings.audit import Actor
from bookings.management.progress import ProgressBar
from bookings.privacy.retention import AGENCY_COUNTS, apply_retention

# Below this many rows the run is over before a bar would tell anyone anything.
PROGRESS_BAR_FROM_ROWS = 10_000


class Command(BaseCommand):
    help = (
        "Anonymise bookings past their retention and delete old delivery attempts, task "
        "results, Idempotency-Key records, webhook events and expired sessions (as the "
        "scheduler does nightly)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="only count what would be done, per agency"
        )

    def handle(self, dry_run, **options):
        progress = ProgressBar(self.stdout, "rows")

        def start(total: int) -> None:
            if total >= PROGRESS_BAR_FROM_ROWS and not dry_run:
                progress.show(0, total)

        def advance(rows: int) -> None:
            if progress.total:
                progress.advance(rows)

        report = apply_retention(
            dry_run=dry_run, on_start=start, on_progress=advance, who=Actor.OPERATOR
        )
        if progress.total:
            self.stdout.write("")
        heading = "Would do (dry run)" if dry_run else "Done"
        self.stdout.write(self.style.MIGRATE_HEADING(f"{heading}, per agency:"))
        for slug, counts in report.per_agency.items():
            figures = ", ".join(f"{kind}={counts[kind]}" for kind in AGENCY_COUNTS)
            self.stdout.write(f"  {slug}: {figures}")
        self.stdout.write(f"task_results_deleted={report.task_results_deleted}")
        if not dry_run:
            self.stdout.write(
                self.style.SUCCESS(
                    f"{report.batches} batches, the longest "
                    f"{report.longest_batch_seconds:.3f} s; expired sessions cleared"
                )
            )
