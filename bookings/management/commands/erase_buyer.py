from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from agencies.models import Agency
from bookings.models import DataRequest
from bookings.privacy.subject import BuyerData, erase


class Command(BaseCommand):
    help = (
        "Erase a buyer's personal data (an erasure request): anonymise every booking, "
        "delivery attempt, quarantine decision, admin log entry and Idempotency-Key record "
        "under the email, cancelling bookings still waiting to be sent; recorded per agency."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--agency", help="the agency's slug (default: every agency)")
        parser.add_argument("--dry-run", action="store_true", help="only list what would be erased")

    def handle(self, email, agency, dry_run, **options):
        try:
            validate_email(email.strip())
        except ValidationError:
            raise CommandError(f"Not an email address: {email!r}") from None
        agencies = Agency.objects.all()
        if agency is not None:
            agencies = agencies.filter(slug=agency)
            if not agencies.exists():
                raise CommandError(f"No agency with the slug {agency!r}.")
        counts = erase(
            BuyerData(email, agencies), channel=DataRequest.Channel.COMMAND, dry_run=dry_run
        )
        if not counts:
            self.stdout.write("Nothing stored under this email.")
            return
        heading = "Would erase (dry run)" if dry_run else "Erased"
        self.stdout.write(self.style.MIGRATE_HEADING(f"{heading}, per agency:"))
        for erased_agency, agency_counts in counts.items():
            figures = ", ".join(f"{kind}={count}" for kind, count in sorted(agency_counts.items()))
            self.stdout.write(f"  {erased_agency.slug}: {figures}")
        if any(agency_counts.get("being_sent") for agency_counts in counts.values()):
            self.stderr.write(
                "A booking was being sent right now and was left as it is: run again in a minute."
            )
