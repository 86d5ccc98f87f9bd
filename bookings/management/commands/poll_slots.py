from django.core.management.base import BaseCommand

from bookings import polling
from bookings.management.progress import ProgressBar


class Command(BaseCommand):
    help = "Poll MSPECS slot status for every open upcoming time-slot viewing, once per deal."

    def add_arguments(self, parser):
        parser.add_argument(
            "--due",
            action="store_true",
            help="only deals whose last poll is older than their interval (as the worker does)",
        )

    def handle(self, due, **options):
        viewings = polling.due_viewings() if due else polling.upcoming_viewings()
        summary = polling.poll_slots(viewings, on_progress=ProgressBar(self.stdout, "deals").show)
        self.stdout.write("")
        for deal, message in summary.errors.items():
            self.stderr.write(f"{deal}: {message}")
        style = self.style.ERROR if summary.errors else self.style.SUCCESS
        self.stdout.write(
            style(
                f"deals polled: {summary.deals_polled}, slots changed: {summary.slots_changed}, "
                f"bookings set aside: {summary.bookings_set_aside}, "
                f"errors: {len(summary.errors)}"
            )
        )
