"""What the viewing import (bookings/viewing_import/) keeps between runs: the events a broker
system pushed, waiting for the worker, and how far a scheduled sync has read."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency, AgencyScopedQuerySet
from agencies.problems import ProblemField


class WebhookEventQuerySet(AgencyScopedQuerySet):
    def pending(self):
        """Waiting for the worker to take them."""
        return self.filter(started_at__isnull=True)


class WebhookEvent(models.Model):
    """What a provider pushed about one deal (MSPECS webhooks), stored before it is
    answered and acted on by the worker (bookings/viewing_import/webhooks.py). Only what we
    act on is kept. A deal has at most one waiting: the events that arrive meanwhile are
    coalesced into it, the latest signed deciding what the worker does. MSPECS's events
    carry no id, so a delivery is known by its signed timestamp and the hash of its body
    (those of the latest delivery coalesced)."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="webhook_events")
    event_type = models.CharField(max_length=40)
    source_id = models.CharField(max_length=200, blank=True)  # the deal the event is about
    signed_at = models.DateTimeField()  # the signature's timestamp
    body_sha256 = models.CharField(max_length=64)
    deliveries = models.PositiveIntegerField(default=1)  # how many events were coalesced
    received_at = models.DateTimeField(default=timezone.now)  # the first of them
    woken_at = models.DateTimeField(default=timezone.now)  # when its task was last enqueued
    started_at = models.DateTimeField(null=True, blank=True)  # when the worker took it
    processed_at = models.DateTimeField(null=True, blank=True)
    problem = ProblemField(_("problem"))

    objects = WebhookEventQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "signed_at", "body_sha256"], name="one_event_per_delivery"
            ),
            models.UniqueConstraint(
                fields=["agency", "source_id"],
                condition=Q(started_at__isnull=True),
                name="one_pending_event_per_deal",
            ),
        ]
        indexes = [
            models.Index(
                fields=["agency", "source_id"],
                condition=Q(processed_at__isnull=True),
                name="webhook_event_pending",
            )
        ]

    def __str__(self):
        return f"{self.event_type} {self.source_id}".strip()

    def coalesce(self, event_type: str, signed_at, body_sha256: str) -> None:
        """Count one more delivery in this waiting event; the latest signed decides."""
        self.deliveries += 1
        if signed_at >= self.signed_at:
            self.event_type, self.signed_at, self.body_sha256 = event_type, signed_at, body_sha256


class ChangedSourcesMark(models.Model):
    """How far a scheduled sync has read the list of changed deals or estates of one
    credential, for a provider that lists them (Vitec's estates by changedAt;
    viewing_import/sync.py, `sync_changed`)."""

    credential = models.OneToOneField(
        "agencies.ProviderCredential", on_delete=models.CASCADE, related_name="changed_sources"
    )
    # The newest change read, in the provider's clock: the next pass asks from there.
    changed_up_to = models.DateTimeField(null=True, blank=True)
    # When every source was last read whatever the list said (our clock).
    all_read_at = models.DateTimeField()

    def __str__(self):
        return f"{self.credential}: {self.changed_up_to}"
