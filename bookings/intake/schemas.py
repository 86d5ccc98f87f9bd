"""What the intake API takes and answers, as pydantic schemas: django-ninja validates requests
with them and generates the OpenAPI document (/api/v1/openapi.json) from them.

The schemas check the shape of a request (known fields, JSON types, Unicode text); every rule
about the content (lengths, names, phone, slot, duplicates) is the model's (Booking.clean),
reached through the same form as the public page. The document states the model's limits."""

import datetime as dt
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from django.conf import settings
from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict, StrictBool, StrictStr
from pydantic_core import PydanticCustomError

from agencies.models import Provider
from bookings import models
from bookings.providers import PLUGINS


class ErrorCode(StrEnum):
    """Every code an API error can carry (`error.code`)."""

    INVALID = "invalid"
    INVALID_JSON = "invalid_json"
    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    SLOT_FULL = "slot_full"
    BOOKING_CLOSED = "booking_closed"
    DUPLICATE_BOOKING = models.DUPLICATE_BOOKING
    TOO_LARGE = "too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    RATE_LIMITED = "rate_limited"


class ErrorDetail(Schema):
    code: ErrorCode
    message: str
    fields: dict[str, list[str]] | None = Field(
        None,
        description="Messages per field (or `Idempotency-Key`); `__all__` for errors of the "
        "booking as a whole.",
    )
    status_url: str | None = Field(
        None,
        json_schema_extra={"format": "uri"},
        description="With `duplicate_booking`: the existing booking's status URL.",
    )


class Error(Schema):
    error: ErrorDetail


def encodable(text: str) -> str:
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate escape such as "\ud800"
        raise PydanticCustomError("unicode_text", "Must be valid Unicode text.") from None
    return text


Text = Annotated[StrictStr, AfterValidator(encodable)]


def broker_limits() -> str:
    """What the providers' contracts limit, for the document: "MSPECS: first_name 60,
    ..." (bookings/providers/, `field_limits`)."""
    return "; ".join(
        f"{Provider(system).label}: "
        + ", ".join(f"{field} {limit}" for field, limit in plugin.field_limits.items())
        for system, plugin in PLUGINS.items()
        if plugin.field_limits
    )


BROKER_LIMIT_DESCRIPTION = (
    f"The agency's broker system may take fewer characters ({broker_limits()}); a longer "
    "value, as normalised, is refused with a message saying how many."
)
NAME_DESCRIPTION = (
    "Normalised to Unicode NFC. Control, formatting and line-break characters are refused, "
    "except a zero-width joiner inside an emoji. " + BROKER_LIMIT_DESCRIPTION
)


def model_max_length(field: str) -> dict:
    """The model's limit, stated in the document; the model enforces it, and the agency's
    provider may take fewer (Booking.broker_limit_errors)."""
    return {"maxLength": models.Booking._meta.get_field(field).max_length}


class BookingRequest(Schema):
    model_config = ConfigDict(extra="forbid")

    slot: Text | None = Field(
        None,
        description="The slot's id (from the viewing list); required when the viewing's "
        "`needs_slot` is true, not allowed otherwise.",
    )
    first_name: Text = Field(
        description=NAME_DESCRIPTION, json_schema_extra=model_max_length("first_name")
    )
    last_name: Text = Field(
        description=NAME_DESCRIPTION, json_schema_extra=model_max_length("last_name")
    )
    email: Text = Field(
        description="Lower-cased. " + BROKER_LIMIT_DESCRIPTION,
        json_schema_extra={"format": "email"},
    )
    phone: Text = Field(
        description="Any common format (`070-123 45 67`, `+46 70 123 45 67`); numbers without "
        "a country prefix are read in the agency's region. Stored in E.164. "
        + BROKER_LIMIT_DESCRIPTION
    )
    message: Text | None = Field(
        None,
        description="Message to the broker.",
        json_schema_extra=model_max_length("message"),
    )
    consent: StrictBool = Field(
        description="Must be true: the buyer ticked the consent sentence on your site, "
        "worded as on the agency's booking page (\"I consent to <agency> processing my "
        "personal data to handle this booking.\", linking to the agency's privacy policy). "
        "The time of the request is stored as the time of consent, with your API key as "
        "its channel and `language` as the language it was shown in.",
        json_schema_extra={"const": True},
    )
    language: Literal[tuple(dict(settings.LANGUAGES))] | None = Field(
        None,
        description="The buyer's language, for the consent record, their status page and "
        "emails; by default the request's Accept-Language (Swedish without one).",
    )


class Booking(Schema):
    id: int
    status: models.Booking.Status
    status_url: str = Field(json_schema_extra={"format": "uri"})
    buyer_status_url: str = Field(
        json_schema_extra={"format": "uri"},
        description="The buyer's private status page (a signed link: give it only to the "
        "buyer): the booking's state in their language, a calendar file, and a button to "
        "cancel.",
    )
    viewing_id: str
    slot_id: str | None
    created_at: datetime
    delivered_at: datetime | None


class Slot(Schema):
    id: str = Field(description="The slot's id in the broker system.")
    starts_at: datetime
    ends_at: datetime
    number_booked: int
    bookable: bool = Field(description="False when fully booked.")
    places_left: int | None = Field(
        description="Places a buyer can still take, when the broker system states them."
    )
    status_checked_at: datetime | None


class Viewing(Schema):
    id: str = Field(description="The viewing's id in the broker system.")
    title: str
    address: str
    date: dt.date = Field(description="The viewing's day, in Swedish time as on the booking page.")
    date_only: bool = Field(
        description="The broker system names a day and no time: buyers book the day, and "
        "`starts_at` and `ends_at` are null."
    )
    times_hidden: bool = Field(
        description="The broker system asks not to show the viewing's start and end times: "
        "`starts_at` and `ends_at` are null (its slots keep theirs). Show the `date` only."
    )
    starts_at: datetime | None = Field(description="Null when `date_only` or `times_hidden`.")
    ends_at: datetime | None = Field(description="Null when `date_only` or `times_hidden`.")
    needs_slot: bool
    booking_closes_at: datetime | None = Field(
        description="No booking is taken from this moment on (the broker system's deadline)."
    )
    bookings_url: str
    slots: list[Slot] = Field(description="Upcoming slots (empty for viewings without slots).")


class ViewingList(Schema):
    viewings: list[Viewing]
