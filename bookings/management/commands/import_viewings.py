import unicodedata

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from agencies.models import Agency
from agencies.problems import problem_text
from bookings.providers.base import SourceReadError
from bookings.viewing_import.service import import_source, importable_sources


def one_line(text: str) -> str:
    """`text` with its control and line-break characters as spaces, so that each source
    stays one `id<TAB>title` line."""
    return "".join(
        " " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in text
    )


class Command(BaseCommand):
    help = (
        "Import the viewings of one deal or estate into an agency, as the admin's import page "
        "does; with --list, print the deals or estates the agency can import instead, one "
        "`id<TAB>title` per line. Exits non-zero with the reason when it fails."
    )

    def add_arguments(self, parser):
        parser.add_argument("agency", metavar="AGENCY_SLUG")
        parser.add_argument(
            "source_id", nargs="?", metavar="SOURCE_ID", help="the deal or estate id to import"
        )
        parser.add_argument(
            "--list",
            action="store_true",
            dest="list_sources",
            help="list the deals or estates the agency can import",
        )

    def handle(self, agency, source_id, list_sources, **options):
        if list_sources == (source_id is not None):
            raise CommandError("Give either a deal or estate id to import, or --list.")
        slug = agency
        agency = Agency.objects.select_related("credential").filter(slug=slug).first()
        if agency is None:
            raise CommandError(f"No agency with the slug {slug!r}.")
        if list_sources:
            try:
                sources = importable_sources(agency)
            except SourceReadError as error:
                raise CommandError(problem_text(error.problem)) from None
            for source in sources:
                self.stdout.write(f"{source.source_id}\t{one_line(source.title)}")
            return
        try:
            result = import_source(agency, source_id)
        except ValidationError as error:
            raise CommandError(f"{source_id!r}: {' '.join(error.messages)}") from None
        if result.problem is not None:
            raise CommandError(problem_text(result.problem))
        self.stdout.write(
            self.style.SUCCESS(
                f"{agency.slug} {source_id}: {len(result.viewings)} viewings imported "
                f"({result.created} new)."
            )
        )
        for viewing in result.viewings:
            self.stdout.write(f"  {viewing.provider_viewing_id}\t{one_line(viewing.title)}")
