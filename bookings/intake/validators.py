"""What every door taking a buyer's email (the public page, the JSON API, the admin's
booking form) requires beyond Django's EmailValidator: an address the providers take."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# RFC 6761: names that never leave the machine.
LOCAL_NAME = "localhost"


def validate_public_email_domain(email: str) -> None:
    """A dotted domain name: no IP literal (`a@[127.0.0.1]`), no `localhost` (nor a name
    under it), no bare host name. EmailValidator allows these; MSPECS refuses them."""
    domain = email.strip().rpartition("@")[2].lower().rstrip(".")
    if (
        domain.startswith("[")
        or "." not in domain
        or domain == LOCAL_NAME
        or domain.endswith(f".{LOCAL_NAME}")
    ):
        raise ValidationError(
            _("Enter an email address at a public domain, such as name@example.se."),
            code="email_domain",
        )
