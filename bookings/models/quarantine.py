"""What brokers decided about the entries of an MSPECS quarantine (bookings/quarantine/)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bookings.models.viewings import Viewing, ViewingPartQuerySet


class QuarantineDecision(models.Model):
    """What a broker decided in MSPECS about one quarantine entry (one email on a viewing)."""

    class Decision(models.TextChoices):
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")

    viewing = models.ForeignKey(
        Viewing,
        on_delete=models.CASCADE,
        related_name="quarantine_decisions",
        verbose_name=_("viewing"),
    )
    email = models.EmailField(verbose_name=_("email"))
    decision = models.CharField(max_length=10, choices=Decision.choices, verbose_name=_("decision"))
    decided_by = models.ForeignKey(
        "auth.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(default=timezone.now, verbose_name=_("decided at"))

    objects = ViewingPartQuerySet.as_manager()

    class Meta:
        verbose_name = _("quarantine decision")
        verbose_name_plural = _("quarantine decisions")
        constraints = [
            models.UniqueConstraint(fields=["viewing", "email"], name="unique_decision_per_entry"),
        ]

    def __str__(self):
        return f"{self.email}: {self.get_decision_display()}"
