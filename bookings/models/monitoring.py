"""The background processes' heartbeats, which /healthz reads (bookings/monitoring/)."""

import os
import socket

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    """When a background process (the delivery worker, the scheduler) was last seen alive,
    for /healthz. A row in the database rather than the cache: every web process must see
    it, and the default cache is per process."""

    class Process(models.TextChoices):
        WORKER = "worker", _("Delivery worker")
        SCHEDULER = "scheduler", _("Scheduler")

    process = models.CharField(max_length=20, choices=Process.choices, unique=True)
    seen_at = models.DateTimeField()
    # host:pid of the one that beat last: which of several workers, or which scheduler holds
    # the lock.
    seen_by = models.CharField(max_length=300)

    def __str__(self):
        return f"{self.process} {self.seen_at:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def beat(cls, process: str) -> None:
        seen_by = f"{socket.gethostname()}:{os.getpid()}"
        cls.objects.update_or_create(
            process=process, defaults={"seen_at": timezone.now(), "seen_by": seen_by}
        )
