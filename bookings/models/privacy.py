"""The record of buyers' data-subject requests carried out (bookings/privacy/)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency, AgencyScopedQuerySet


class DataRequest(models.Model):
    """A buyer's data-subject request carried out for one agency (bookings/privacy/): who
    did it, when, and how many rows of each kind; never whose data it was beyond a keyed
    hash of the email, which tells whether a given email was handled without storing it."""

    class Kind(models.TextChoices):
        ERASURE = "erasure", _("Erasure")
        EXPORT = "export", _("Export")

    class Channel(models.TextChoices):
        ADMIN = "admin", _("Admin")
        COMMAND = "command", _("Management command")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="data_requests", verbose_name=_("agency")
    )
    performed_by = models.ForeignKey(
        "auth.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("performed by"),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    performed_at = models.DateTimeField(_("performed at"), default=timezone.now)
    email_digest = models.CharField(_("email (keyed hash)"), max_length=64)
    counts = models.JSONField(_("rows"), default=dict)

    objects = AgencyScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-performed_at"]
        verbose_name = _("data request")
        verbose_name_plural = _("data requests")

    def __str__(self):
        return f"{self.get_kind_display()} {self.agency} {self.performed_at:%Y-%m-%d %H:%M}"
