"""The delivery attempts: each call to a provider, on the booking's page and alone."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from agencies.admin import ReadOnlyRecordAdmin, ReadOnlyRecordInline, to_the_second
from bookings.models import DeliveryAttempt


class AttemptDisplay:
    """How an attempt reads on both pages: its time to the second, what the provider
    answered in words."""

    @admin.display(description=_("started at"), ordering="started_at")
    def started(self, attempt):
        return to_the_second(attempt.started_at)

    @admin.display(description=_("answer"))
    def answer(self, attempt):
        return attempt.answer


class DeliveryAttemptInline(AttemptDisplay, ReadOnlyRecordInline):
    """On the booking's page, one row per run of attempts that went the same way."""

    model = DeliveryAttempt
    fields = ["started", "endpoint", "http_status", "duration_ms", "outcome", "answer"]
    readonly_fields = fields

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)

        class OneRowPerRun(formset):
            def get_queryset(self):
                # The first attempt of each run, knowing its run: read in one query,
                # however long the booking's history.
                if not hasattr(self, "_queryset"):
                    runs = self.instance.attempts.runs() if self.instance.pk else []
                    for run in runs:
                        run[0].run = run
                    self._queryset = [run[0] for run in runs]
                return self._queryset

        return OneRowPerRun

    @admin.display(description=_("started at"))
    def started(self, attempt):
        run = getattr(attempt, "run", [attempt])
        if len(run) == 1:
            return to_the_second(attempt.started_at)
        return ngettext(
            "%(first)s to %(last)s, %(count)s time",
            "%(first)s to %(last)s, %(count)s times",
            len(run),
        ) % {
            "first": to_the_second(attempt.started_at),
            "last": to_the_second(run[-1].started_at),
            "count": len(run),
        }


class DeliveryAttemptAdmin(AttemptDisplay, ReadOnlyRecordAdmin):
    list_display = ["booking", "started", "endpoint", "http_status", "outcome", "duration_ms"]
    list_filter = ["outcome", "http_status"]
    list_select_related = ["booking"]
    search_fields = ["booking__email", "endpoint"]
    fields = [
        *("booking", "started", "endpoint", "url", "http_status", "duration_ms", "outcome"),
        "answer",
    ]
    readonly_fields = fields
