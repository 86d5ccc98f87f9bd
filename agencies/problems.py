"""Problems shown to staff, stored as a code plus parameters rather than as a sentence, so
that each reader sees them in their own language (Swedish or English).

A catalogue module defines each kind once (`define`); the code names its message template
(gettext, with named %(parameters)s). A parameter may itself be a Problem, rendered in the
same language. This app defines the credential-status kinds; bookings.problems.delivery
defines delivery and polling kinds."""

from dataclasses import dataclass, field
from typing import Any

from django.db import migrations, models
from django.db.models import Expression, F, Value
from django.db.models.functions import JSONObject
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

MESSAGES: dict[str, Promise | str] = {}


@dataclass(frozen=True)
class Problem:
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        """The message in the active language."""
        params = {name: str(value) for name, value in self.params.items()}
        template = MESSAGES.get(self.code)
        if template is not None:
            try:
                return str(template) % params
            except (KeyError, ValueError, TypeError):
                pass  # stored with other parameters than its message names now
        # A code or parameters no catalogue knows (any more): say what is stored.
        return " ".join([self.code, *params.values()])

    def as_json(self) -> dict:
        return {
            "code": self.code,
            "params": {
                name: value.as_json() if isinstance(value, Problem) else value
                for name, value in self.params.items()
            },
        }

    @classmethod
    def from_json(cls, value: Any) -> "Problem":
        def parameter(item):
            if isinstance(item, dict) and set(item) == {"code", "params"}:
                return cls.from_json(item)
            return item

        return cls(value["code"], {name: parameter(v) for name, v in value["params"].items()})


@dataclass(frozen=True)
class ProblemKind:
    code: str
    message: Promise | str

    def __call__(self, **params) -> Problem:
        return Problem(self.code, params)


def define(code: str, message: Promise | str) -> ProblemKind:
    if code in MESSAGES:
        raise ValueError(f"Problem code {code!r} is defined twice")
    MESSAGES[code] = message
    return ProblemKind(code, message)


# A free-text message stored before problems had codes, shown as it was written.
LEGACY = define("legacy", "%(text)s")


class ProblemField(models.JSONField):
    """A Problem (or None), stored as JSON {"code": ..., "params": {...}}."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value, expression, connection):
        value = super().from_db_value(value, expression, connection)
        return Problem.from_json(value) if value else None

    def to_python(self, value):
        if isinstance(value, dict):
            return Problem.from_json(value)
        return value

    def validate(self, value, model_instance):
        # full_clean of a loaded object: the JSON validation checks what would be stored.
        if isinstance(value, Problem):
            value = value.as_json()
        super().validate(value, model_instance)

    def get_prep_value(self, value):
        if isinstance(value, Problem):
            value = value.as_json()
        elif value is not None and not isinstance(value, dict | Expression):
            # A sentence would be stored in one language only: define a kind for it.
            raise TypeError(f"{self.name} takes a Problem, not {type(value).__name__}")
        return super().get_prep_value(value)


def problem_text(problem: Problem | None) -> str:
    """For display: the problem in the active language, or nothing."""
    return str(problem) if problem else ""


# --- the credential's status ---------------------------------------------------------------

CHANGED_AFTER_FAILING = define(
    "credential_changed_after_failing", _("Changed after failing; not tested yet.")
)
CHECK_ADDRESS_REFUSED = define("check_address_refused", _("Refused: %(refusal)s"))
CHECK_REFUSED = define("check_refused", _("Refused: the broker system answered HTTP %(status)s."))
CHECK_INCONCLUSIVE = define("check_inconclusive", _("Inconclusive: %(answer)s; try again later."))
CHECK_ACCEPTED = define(
    "check_accepted", _("Accepted: the broker system checked the login (HTTP %(status)s).")
)
CHECK_UNVERIFIED = define(
    "check_unverified",
    _(
        "Reachable, login not verified: the broker system answered HTTP %(status)s, which "
        "does not show that it checked the login; the credential's status is unchanged."
    ),
)


def keep_legacy_texts(app_label: str, model_name: str, text_field: str, problem_field: str):
    """A migration operation carrying the free-text messages of `text_field` over to
    `problem_field` as LEGACY problems (and back, in English, when unapplied)."""

    def forwards(apps, schema_editor):
        model = apps.get_model(app_label, model_name)
        model.objects.exclude(**{text_field: ""}).update(
            **{
                problem_field: JSONObject(
                    code=Value(LEGACY.code), params=JSONObject(text=F(text_field))
                )
            }
        )

    def backwards(apps, schema_editor):
        model = apps.get_model(app_label, model_name)
        stored = model.objects.filter(**{f"{problem_field}__isnull": False})
        with translation.override("en"):
            for pk, problem in stored.values_list("pk", problem_field):
                model.objects.filter(pk=pk).update(**{text_field: str(problem)})

    return migrations.RunPython(forwards, backwards)
