"""Accent-insensitive search in the admin: "bjorn" finds "Björn", "asa" finds "Åsa".

Search fields go through Django's `unaccent` lookup (django.contrib.postgres): PostgreSQL's
unaccent extension (installed by migration 0009), and on SQLite a function of the same name
that every new connection gets (BookingsConfig.ready). The search term loses its accents
the same way, in Python, so "Björn" still finds "Björn"."""

import unicodedata

# Letters PostgreSQL's unaccent maps to plain ones that Unicode does not decompose.
UNDECOMPOSED = str.maketrans(
    {
        **{"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss"},
        **{"ð": "d", "Ð": "D", "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "TH"},
    }
)


def without_accents(text: str | None) -> str | None:
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFKD", text.translate(UNDECOMPOSED))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def add_unaccent_to_sqlite(sender, connection, **kwargs) -> None:
    """SQLite has no UNACCENT(): give each new connection ours."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("UNACCENT", 1, without_accents, deterministic=True)
