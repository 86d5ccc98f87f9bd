"""The answers the intake API (bookings/intake/) gives again to a repeated Idempotency-Key."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from agencies.models import AgencyScopedQuerySet


class IdempotentRequestQuerySet(AgencyScopedQuerySet):
    agency_lookup = "api_key__agency__"


# The request fingerprint of an erased buyer's record: a hash of their request is theirs.
ERASED_FINGERPRINT = ""


class IdempotentRequest(models.Model):
    """The first response to an intake API request sent with an Idempotency-Key."""

    api_key = models.ForeignKey(
        "agencies.ApiKey",
        on_delete=models.CASCADE,
        related_name="idempotent_requests",
        verbose_name=_("API key"),
    )
    key = models.CharField(max_length=200, verbose_name=_("idempotency key"))
    request_fingerprint = models.CharField(max_length=64, verbose_name=_("request fingerprint"))
    response_status = models.PositiveSmallIntegerField(verbose_name=_("response status"))
    response_body = models.JSONField(verbose_name=_("response body"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    objects = IdempotentRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("idempotent request")
        verbose_name_plural = _("idempotent requests")
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="unique_idempotency_key"),
        ]

    def __str__(self):
        return self.key
