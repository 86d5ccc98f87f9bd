"""System checks for the agencies app, run at start (runserver, migrate, the workers)."""

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error


def check_field_encryption_keys(app_configs, **kwargs):
    """Every key in FIELD_ENCRYPTION_KEYS must be a Fernet key: a bad one would pass start-up
    and then make every read of a provider secret fail."""
    errors = []
    for position, key in enumerate(settings.FIELD_ENCRYPTION_KEYS, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            errors.append(
                Error(
                    f"Key {position} in FIELD_ENCRYPTION_KEYS is not a valid Fernet key.",
                    hint=(
                        "A Fernet key is 32 url-safe base64-encoded bytes: generate one with "
                        'python -c "from cryptography.fernet import Fernet; '
                        'print(Fernet.generate_key().decode())"'
                    ),
                    id="agencies.E001",
                )
            )
    return errors
