"""Masking what must never be stored in a delivery attempt: credentials, and the buyer's
email and phone beyond what staff need to recognise them."""

import base64
import re

EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# International numbers as brokers echo them: +46701111111, +46 70-111 11 11. (Bare
# digit runs are left alone: they are as likely dates and ids.)
PHONE = re.compile(r"\+(\d[\d \-]{5,}\d)")
AUTHORIZATION = re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9+/=._-]+")
MASK = "***"


def mask_email(match: re.Match) -> str:
    return f"{match[1]}{MASK}@{match[2]}"


def mask_phone(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match[1])
    return f"+{digits[:2]}{MASK}{digits[-2:]}"


def redact(text: str, secrets: list[str], personal: list[str] = ()) -> str:
    """`text` with the given secrets, any Authorization value, email address and
    international phone number masked; `personal` values (the buyer's own email and
    phone, in whatever form the broker echoes them) keep only their first character."""
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, MASK)
    for value in sorted(filter(None, personal), key=len, reverse=True):
        text = re.sub(re.escape(value), lambda m: m[0][0] + MASK, text, flags=re.IGNORECASE)
    text = AUTHORIZATION.sub(lambda m: f"{m[1]} {MASK}", text)
    text = EMAIL.sub(mask_email, text)
    return PHONE.sub(mask_phone, text)


def credential_secrets(username: str, secret: str) -> list[str]:
    basic = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return [secret, basic]
