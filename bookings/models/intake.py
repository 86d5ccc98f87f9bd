"""The answers the intake API (bookings/intake/) gives again to a repeated Idempotency-Key."""

import json

from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from agencies.models import AgencyScopedQuerySet


class IdempotentRequestQuerySet(AgencyScopedQuerySet):
    agency_lookup = "api_key__agency__"


# The request digest of a record stored before digests were keyed: its unkeyed hash (or the
# empty one an erasure left) cannot be compared with a keyed one (migration 0022).
UNKNOWN_REQUEST = ""


def keyed_digest(purpose: str, text: str) -> str:
    """An HMAC from SECRET_KEY: equal texts give equal digests, and no one without the key
    can read a text back or test a guess (a key or a body may hold a buyer's email)."""
    return salted_hmac(f"bookings.intake.{purpose}", text, algorithm="sha256").hexdigest()


def idempotency_key_digest(key: str) -> str:
    return keyed_digest("idempotency-key", key)


def request_digest(path: str, body: dict) -> str:
    """The request's path and body, whatever the body's key order and spacing."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return keyed_digest("idempotent-request", f"{path}\0{canonical}")


class IdempotentRequest(models.Model):
    """The first response to an intake API request sent with an Idempotency-Key. The key and
    the request are kept as keyed digests only: they answer whether a later request is the
    same, and survive the buyer's erasure, so a key never answers for another request."""

    api_key = models.ForeignKey(
        "agencies.ApiKey",
        on_delete=models.CASCADE,
        related_name="idempotent_requests",
        verbose_name=_("API key"),
    )
    key_digest = models.CharField(max_length=64, verbose_name=_("idempotency key digest"))
    request_fingerprint = models.CharField(max_length=64, verbose_name=_("request fingerprint"))
    response_status = models.PositiveSmallIntegerField(verbose_name=_("response status"))
    response_body = models.JSONField(verbose_name=_("response body"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    objects = IdempotentRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("idempotent request")
        verbose_name_plural = _("idempotent requests")
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "key_digest"], name="unique_idempotency_key"
            ),
        ]

    def __str__(self):
        return self.key_digest
