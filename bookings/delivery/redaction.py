"""Masking what must never be stored from a broker system's answer: credentials, and the
buyer's email and phone beyond what staff need to recognise them.

`redact_answer` is the one door: delivery, slot polling and the credential check pass every
text derived from an answer through it before storing it."""

import base64
import re
from itertools import groupby
from typing import TYPE_CHECKING, Any

import phonenumbers

from agencies.problems import Problem

if TYPE_CHECKING:
    from agencies.models import ProviderCredential
    from bookings.models import Booking

# "@" and "+" also URL-encoded (%40, %2B), as a broker system echoing a query string writes them.
EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(?:@|%40)([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# An address cut off at the end of the text, its domain partly or wholly gone.
CUT_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(?:@|%40)([A-Za-z0-9.-]*)\Z")
# International numbers as broker systems echo them: +46701111111, +46 70-111 11 11. (Bare
# digit runs are left alone: they are as likely dates and ids.)
PHONE = re.compile(r"(?:\+|%2[Bb])(\d[\d \-]{5,}\d)")
AUTHORIZATION = re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9+/=._-]+")
# What may stand between the digits of a written phone number: 070-123 45 67, (070) 1234567.
PHONE_SEPARATORS = r"[\s\-().]*"
# A text may end in the first characters of a value (an excerpt cut short): that many
# or more are masked too.
CUT_VALUE_MIN_LENGTH = 3
MASK = "***"


def mask_email(match: re.Match) -> str:
    return f"{match[1]}{MASK}@{match[2]}"


def mask_phone(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match[1])
    return f"+{digits[:2]}{MASK}{digits[-2:]}"


def keep_first_character(match: re.Match) -> str:
    return match[0][0] + MASK


def redact(text: str, secrets: list[str], personal: list[str] = ()) -> str:
    """`text` with the given secrets, any Authorization value, email address and
    international phone number masked; `personal` values (the buyer's own email and
    phone, in whatever form the broker system echoes them) keep only their first character.
    A text that ends in the beginning of any of these is taken for one cut short, and
    that end is masked too."""
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        parts = character_forms(secret)
        text = re.sub("".join(parts), MASK, text)
        text = re.sub(cut_short(parts), MASK, text)
    for value in sorted(filter(None, personal), key=len, reverse=True):
        for pattern in written_forms(value):
            text = re.sub(pattern, keep_first_character, text, flags=re.IGNORECASE)
    text = AUTHORIZATION.sub(lambda m: f"{m[1]} {MASK}", text)
    text = EMAIL.sub(mask_email, text)
    text = CUT_EMAIL.sub(mask_email, text)
    return PHONE.sub(mask_phone, text)


# JSON's two-character escapes (but the backslash's own: see `character_forms`); any
# character may also be written as \uXXXX.
JSON_ESCAPES = {'"': '"', "/": "/", "\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t"}


def character_forms(value: str) -> list[str]:
    r"""One pattern per character of `value`, matching it as written, JSON-escaped (\" or
    \u00e9, escaped again when JSON is nested in JSON), or URL-encoded (%C3%A9, %2B, + for
    a space)."""
    parts = []
    for character, run in groupby(value):
        count = len(list(run))
        if character == "\\":
            # A run of backslashes, each written once, twice (JSON), four times (JSON in
            # JSON) or %5C, as one pattern: one per backslash would backtrack
            # exponentially over a long run of backslashes in an answer.
            parts.append(f"(?:\\\\{{{count},{4 * count}}}|(?:%(?:25)*(?i:5c)){{{count}}})")
        else:
            parts += [character_form(character)] * count
    return parts


def character_form(character: str) -> str:
    # Escaped once (\"), or again by JSON nested in JSON (\\\").
    escape = r"\\{1,3}"
    utf16 = character.encode("utf-16-be")
    forms = [
        re.escape(character),
        "".join(f"{escape}u(?i:{utf16[i : i + 2].hex()})" for i in range(0, len(utf16), 2)),
        "".join(f"%(?:25)*(?i:{byte:02x})" for byte in character.encode()),
    ]
    if character in JSON_ESCAPES:
        forms.append(escape + re.escape(JSON_ESCAPES[character]))
    if character == " ":
        forms.append(r"\+")
    return f"(?:{'|'.join(forms)})"


def written_forms(value: str) -> tuple[str, str]:
    """Patterns for `value` in the forms people write it: whole, and cut short at the end
    of the text. A phone number in E.164 matches in national and international form,
    with or without separators: +46701234567, +46 (0)70-123 45 67, 0046 70 123 45 67,
    070-123 45 67, 0701234567."""
    try:
        number = phonenumbers.parse(value)
    except phonenumbers.NumberParseException:
        parts = character_forms(value)
        return "".join(parts), cut_short(parts)
    sep = PHONE_SEPARATORS
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(
        phonenumbers.region_code_for_number(number) or ""
    )
    trunk = metadata.national_prefix if metadata else "0"
    country = sep.join(str(number.country_code))
    international = f"(?:{character_form('+')}|00)?{sep}{country}{sep}"
    if trunk:
        # +46 (0)70…: the trunk prefix kept in brackets after the country code.
        international += f"(?:{re.escape(trunk)}{sep})?"
        national = f"|{re.escape(trunk)}{sep}"
    else:
        national = ""
    prefix = f"(?<!\\d)(?:{international}{national})?"
    digits = list(phonenumbers.national_significant_number(number))
    return prefix + sep.join(digits) + r"(?!\d)", prefix + cut_short(digits, sep)


def cut_short(parts: list[str], joiner: str = "") -> str:
    """A pattern for the first CUT_VALUE_MIN_LENGTH or more `parts` at the end of a text."""
    required = min(CUT_VALUE_MIN_LENGTH, len(parts))
    rest = ""
    for part in reversed(parts[required:]):
        rest = f"(?:{joiner}{part}{rest})?"
    return joiner.join(parts[:required]) + rest + r"\Z"


def credential_secrets(username: str, secret: str) -> list[str]:
    """The secret and the Basic Authorization value it is sent as (UTF-8, base64)."""
    basic = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return [secret, basic]


def redact_answer(
    value: Any,
    credential: "ProviderCredential | None",
    booking: "Booking | None" = None,
) -> Any:
    """`value` (a text, a Problem's parameters, or field errors: dicts and lists of texts,
    keys included) derived
    from a broker system's answer, with the credential's secret and the booking's buyer
    masked in every form (see `redact`). What is stored from an answer goes through here."""
    secrets = credential_secrets(credential.username, credential.secret) if credential else []
    personal = [booking.email, booking.phone] if booking else []

    def clean(item: Any) -> Any:
        if isinstance(item, Problem):
            return Problem(item.code, clean(item.params))
        if isinstance(item, str):
            return redact(item, secrets, personal)
        if isinstance(item, dict):
            return {clean(key): clean(entry) for key, entry in item.items()}
        if isinstance(item, list | tuple):
            return [clean(entry) for entry in item]
        return item

    return clean(value)
