"""Validation of the ids a provider names things by."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Characters that end or restructure a URL path segment (or escape one): an id holding
# one could make a call with the agency's credential reach another path of the provider's API.
URL_SPECIAL_CHARACTERS = frozenset("/\\?#%")


def validate_provider_id(value: str) -> None:
    """A provider id becomes one path segment of a call to the provider's API: refuse `.` and `..`
    (which step through the path) and characters that would change the URL."""
    if (
        value in (".", "..")
        or any(char in URL_SPECIAL_CHARACTERS for char in value)
        or any(char.isspace() or not char.isprintable() for char in value)
    ):
        raise ValidationError(
            _(
                "Not a broker id: use the id as the broker system shows it, without "
                "spaces, control characters or any of / \\ ? # % (and not . or ..)."
            ),
            code="invalid_broker_id",
        )
