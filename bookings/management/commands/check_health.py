"""`manage.py check_health`: what GET /healthz answers, for cron or a container probe;
exits 1 when something is failing."""

import json
import sys

from django.core.management import BaseCommand

from bookings.monitoring import health


class Command(BaseCommand):
    help = "Print the health checks of /healthz as JSON; exit 1 when one fails."

    def handle(self, **options):
        result = health.check()
        self.stdout.write(json.dumps(result.as_json(), indent=2))
        if not result.ok:
            self.stderr.write(f"Failing: {', '.join(result.failing)}")
            sys.exit(1)
