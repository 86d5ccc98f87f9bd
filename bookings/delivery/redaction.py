"""Masking what must never be stored from a provider's answer: credentials, and the
buyer's email and phone beyond what staff need to recognise them.

`redact_answer` is the one door: delivery, slot polling and the credential check pass every
text derived from an answer through it before storing it. `redact_log` and `redact_sql` mask
what the logs write (config/logs.py)."""

import base64
import re
import string
from functools import cached_property, lru_cache
from itertools import groupby, takewhile
from typing import TYPE_CHECKING, Any

import phonenumbers

from agencies.problems import Problem

if TYPE_CHECKING:
    from agencies.models import ProviderCredential
    from bookings.models import Booking

# "@" and "+" also URL-encoded (%40, %2B), as a provider echoing a query string writes them.
EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(?:@|%40)([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# An address cut off at the end of the text, its domain partly or wholly gone.
CUT_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(?:@|%40)([A-Za-z0-9.-]*)\Z")
# International numbers as providers echo them: +46701111111, +46 70-111 11 11. (Bare
# digit runs are left alone: they are as likely dates and ids.)
PHONE = re.compile(r"(?:\+|%2[Bb])(\d[\d \-]{5,}\d)")
AUTHORIZATION = re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9+/=._-]+")
# A run of digits as phone numbers are written (070-123 45 67, (070) 1234567), after an
# optional plus as written, JSON-escaped or URL-encoded.
WRITTEN_DIGITS = re.compile(
    r"(?:(?P<plus>\+|\\{1,3}u(?i:002b)|%(?:25)*(?i:2b))[\s\-().]*)?"
    r"(?P<digits>(?<!\d)\d(?:[\s\-().]*\d)*)"
)
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
    phone, in whatever form the provider echoes them) keep only their first character.
    A text that ends in the beginning of any of these is taken for one cut short, and
    that end is masked too."""
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = secret_pattern(secret).sub(text)
    for value in sorted(filter(None, personal), key=len, reverse=True):
        text = personal_pattern(value).sub(text)
    text = AUTHORIZATION.sub(lambda m: f"{m[1]} {MASK}", text)
    text = EMAIL.sub(mask_email, text)
    text = CUT_EMAIL.sub(mask_email, text)
    return PHONE.sub(mask_phone, text)


class ValuePattern:
    """One value in every written form, whole and cut short at the end of a text; built
    and compiled once per value, as a worker masks the same ones in every text of a
    delivery (and the credential's in every delivery)."""

    def __init__(
        self, value: str, whole: str, cut: str, replacement, flags: int = 0, literal_start=""
    ):
        self.replacement = replacement
        self.whole_pattern, self.cut_pattern, self.flags = whole, cut, flags
        # Both patterns begin with these characters as written (lower case, as the
        # patterns ignore case): a text without them cannot hold the value.
        self.literal_start = literal_start
        # A cut-short form ends in one of the value's characters, a hex digit of an escape
        # (%C3%A9, \u00e9), a JSON escape letter or "+": texts ending otherwise (most
        # answers end in "}") skip the cut-short pattern, the costlier one to compile.
        self.cut_can_end_with = frozenset(
            value + value.upper() + value.lower() + string.hexdigits + '"/bfnrt+\\'
        )

    @cached_property
    def whole(self) -> re.Pattern:
        return re.compile(self.whole_pattern, self.flags)

    @cached_property
    def cut(self) -> re.Pattern:
        return re.compile(self.cut_pattern, self.flags)

    def sub(self, text: str) -> str:
        if self.literal_start not in text.lower():
            return text
        text = self.whole.sub(self.replacement, text)
        if text and text[-1] in self.cut_can_end_with:
            text = self.cut.sub(self.replacement, text)
        return text


@lru_cache(maxsize=256)
def secret_pattern(secret: str) -> ValuePattern:
    parts = character_forms(secret)
    return ValuePattern(secret, "".join(parts), cut_short(parts), MASK)


@lru_cache(maxsize=1024)
def personal_pattern(value: str) -> "ValuePattern | PhonePattern":
    """The buyer's own value: a phone number in E.164 as people write phone numbers,
    anything else (the email) as written, JSON-escaped or URL-encoded."""
    try:
        return PhonePattern(phonenumbers.parse(value))
    except phonenumbers.NumberParseException:
        parts = [
            re.escape(character) if character in UNRESERVED else character_form(character)
            for character in value
        ]
        # Unreserved characters are matched only as written: the first few of them (as
        # many as a cut-short form must have) can be looked for as plain text.
        written = "".join(takewhile(UNRESERVED.__contains__, value[:CUT_VALUE_MIN_LENGTH]))
        return ValuePattern(
            value,
            "".join(parts),
            cut_short(parts),
            keep_first_character,
            flags=re.IGNORECASE,
            literal_start=written.lower(),
        )


class PhonePattern:
    """A phone number in national and international form, with or without separators:
    +46701234567, +46 (0)70-123 45 67, 0046 70 123 45 67, 070-123 45 67, 0701234567; or
    its first CUT_VALUE_MIN_LENGTH or more digits at the end of a text. One static
    pattern finds every written run of digits, and the run's digits are compared: a
    pattern of the number itself took milliseconds to compile for every buyer."""

    def __init__(self, number: phonenumbers.PhoneNumber):
        self.digits = phonenumbers.national_significant_number(number)
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(
            phonenumbers.region_code_for_number(number) or ""
        )
        trunk = (metadata.national_prefix if metadata else "0") or ""
        country = str(number.country_code)
        # +46 (0)70…: the trunk prefix may stay, in brackets, after the country code.
        international = [f"00{country}{trunk}", f"00{country}", f"{country}{trunk}", country]
        # Longest first, as a written number is masked whole.
        self.prefixes = sorted({*international, trunk, ""}, key=len, reverse=True)

    def sub(self, text: str) -> str:
        """`text` with the number kept to its first character, like other buyer values."""
        return WRITTEN_DIGITS.sub(lambda run: self.mask_run(run, len(text)), text)

    def mask_run(self, run: re.Match, text_length: int) -> str:
        written = run[0]
        start = run.start("digits") - run.start()
        # Where each digit stands in the run, and where a number may start (no digit
        # right before it) or end (no digit right after it).
        places = [start + i for i, char in enumerate(run["digits"]) if char.isdigit()]
        digits = "".join(written[i] for i in places)
        reaches_end = run.end() == text_length
        masked, done = [], 0
        number = 0
        while number < len(digits):
            if number and written[places[number] - 1].isdigit():
                number += 1
                continue
            length = self.written_length(digits[number:], reaches_end)
            if length is None:
                number += 1
                continue
            end = number + length
            if end < len(digits) and written[places[end - 1] + 1].isdigit():
                number += 1
                continue
            # An international number takes its plus along.
            first = 0 if number == 0 and run["plus"] else places[number]
            last = places[end - 1] + 1
            masked += [written[done:first], written[first] + MASK]
            done, number = last, end
        return "".join(masked) + written[done:]

    def written_length(self, digits: str, at_end: bool) -> int | None:
        """How many of `digits` (from their start) are this number, or None."""
        for prefix in self.prefixes:
            if digits.startswith(prefix + self.digits):
                return len(prefix) + len(self.digits)
        if at_end:
            for prefix in self.prefixes:
                rest = digits[len(prefix) :]
                if (
                    digits.startswith(prefix)
                    and len(rest) >= min(CUT_VALUE_MIN_LENGTH, len(self.digits))
                    and self.digits.startswith(rest)
                ):
                    return len(digits)
        return None


# Characters that URL and JSON encoders write as they are (RFC 3986 "unreserved"): in the
# buyer's own values they are matched only as written. A pattern with every form of every
# character took milliseconds to compile, once per buyer, and was most of a delivery's CPU.
UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
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


def cut_short(parts: list[str]) -> str:
    """A pattern for the first CUT_VALUE_MIN_LENGTH or more `parts` at the end of a text."""
    required = min(CUT_VALUE_MIN_LENGTH, len(parts))
    rest = ""
    for part in reversed(parts[required:]):
        rest = f"(?:{part}{rest})?"
    return "".join(parts[:required]) + rest + r"\Z"


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
    from a provider's answer, with the credential's secret and the booking's buyer
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


# A query string's values: a staff look-up by ?email=, a filter on a name.
QUERY_VALUE = re.compile(r"([?&][^=&\s#'\"]*=)[^&\s#'\"]+")
# What PostgreSQL's errors quote of a row: Key (email)=(a@example.se), Failing row contains
# (...), invalid input syntax for type integer: "abc", and the statement's line with its
# values bound in (LINE 1: ... WHERE email = 'a@example.se').
KEY_VALUES = re.compile(r"(Key \(.*?\))=\(.*\)")
FAILING_ROW = re.compile(r"(Failing row contains) \(.*\)")
INPUT_VALUE = re.compile(r'(invalid input (?:syntax|value) for [^:\n]*): ".*"')
STATEMENT_LINE = re.compile(r"(?m)^(LINE \d+: )(.*)$")
# A string literal in SQL ('' is a quote inside one), or one cut off at the end of an error's
# LINE; identifiers are in double quotes.
SQL_LITERAL = re.compile(r"'(?:[^']|'')*(?:'|\Z)")


def redact_sql(sql: str) -> str:
    """`sql` with every string literal masked: a statement as Django's debug log writes it
    has the values bound in."""
    return SQL_LITERAL.sub(f"'{MASK}'", sql)


def redact_log(text: str) -> str:
    """`text` for a log line: emails, international phone numbers, Authorization values,
    query strings' values and the values PostgreSQL's errors quote masked."""
    text = redact(text, secrets=[])
    text = QUERY_VALUE.sub(rf"\1{MASK}", text)
    text = KEY_VALUES.sub(rf"\1=({MASK})", text)
    text = FAILING_ROW.sub(rf"\1 ({MASK})", text)
    text = INPUT_VALUE.sub(rf'\1: "{MASK}"', text)
    return STATEMENT_LINE.sub(lambda line: line[1] + redact_sql(line[2]), text)
