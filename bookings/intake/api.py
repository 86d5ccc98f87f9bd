"""JSON intake API for agencies' websites and portals, under /api/v1/, on django-ninja: the
schemas in bookings/intake/schemas.py validate the requests and make the OpenAPI document.
Bookings go through the same form, and so the same model validation, as the public page."""

import json
import warnings
from dataclasses import dataclass
from datetime import timedelta

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig, ValidationError
from django.core.validators import RegexValidator
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.http import HttpResponse, JsonResponse
from django.urls import register_converter, reverse
from django.urls.converters import StringConverter
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from ninja import Header, NinjaAPI, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as RequestValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer

from agencies.models import ApiKey
from bookings.buyer.links import status_path
from bookings.intake import schemas
from bookings.intake.forms import BookingRequestForm
from bookings.intake.ratelimit import over_limit
from bookings.intake.schemas import ErrorCode
from bookings.intake.service import accept_booking
from bookings.models import (
    BOOKING_CLOSED,
    DUPLICATE_BOOKING,
    UNKNOWN_REQUEST,
    Booking,
    IdempotentRequest,
    Viewing,
    ViewingSlot,
    idempotency_key_digest,
    request_digest,
)

BOOKING_FIELDS = tuple(schemas.BookingRequest.model_fields)
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 200
# Recording when a key was last used costs a write; once a minute is precise enough.
LAST_USED_PRECISION = timedelta(minutes=1)
IDEMPOTENCY_KEY_PARAM = Header(
    None,
    alias=IDEMPOTENCY_HEADER,
    description=f"Up to {IDEMPOTENCY_KEY_MAX_LENGTH} printable characters. A retry with the "
    "same key and body (even one sent at the same time) returns the first 202 response "
    "instead of booking again; the same key with another body is refused (422), also after "
    "the buyer's data was erased.",
)
# What a field of the request body is refused for, by pydantic's error type.
TYPE_ERRORS = {
    "missing": forms.Field.default_error_messages["required"],
    "extra_forbidden": _("Unknown field."),
    "string_type": _("Must be a string."),
    "bool_type": _("Must be true or false."),
    "literal_error": _("Must be one of the listed values."),
    "unicode_text": _("Must be valid Unicode text."),
}


class ApiError(Exception):
    """An API error in the request's language (Accept-Language, as LocaleMiddleware chose
    it): the message as well as the fields' messages."""

    def __init__(
        self, status, code: ErrorCode, message, fields=None, headers=None, status_url=None
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers or {}
        self.status_url = status_url

    def response(self) -> JsonResponse:
        error = {"code": self.code, "message": self.message}
        if self.fields:
            error["fields"] = self.fields
        if self.status_url:
            error["status_url"] = self.status_url
        response = JsonResponse({"error": error}, status=self.status)
        for name, value in self.headers.items():
            response[name] = value
        return response


def invalid(fields: dict) -> ApiError:
    return ApiError(400, ErrorCode.INVALID, gettext("Some fields are not valid."), fields=fields)


class ProviderIdConverter(StringConverter):
    """An id from a provider: one path segment that fits the 200-character id fields.
    A NUL byte, which PostgreSQL refuses in text, falls through to the JSON 404."""

    regex = r"[^/\x00]{1,200}"


register_converter(ProviderIdConverter, "provider_id")


class ApiKeyAuth(HttpBearer):
    """A Bearer API key of an agency, within the key's rate limit."""

    def authenticate(self, request, token) -> ApiKey | None:
        api_key = ApiKey.authenticate(token.strip())
        if api_key is None:
            return None
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_PRECISION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        retry_after = over_limit(f"api-key:{api_key.pk}", settings.API_RATE_LIMIT_PER_KEY)
        if retry_after:
            raise ApiError(
                429,
                ErrorCode.RATE_LIMITED,
                gettext("Too many requests for this API key."),
                headers={"Retry-After": str(retry_after)},
            )
        return api_key


class JsonObjectParser(Parser):
    def parse_body(self, request) -> dict:
        if request.content_type != "application/json":
            raise ApiError(
                415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, gettext("Send the body as application/json.")
            )
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.API_MAX_BODY_BYTES:
            raise too_large()
        try:
            payload = json.loads(request.body)
        except (ValueError, RecursionError):
            raise ApiError(
                400, ErrorCode.INVALID_JSON, gettext("The body is not valid JSON.")
            ) from None
        if not isinstance(payload, dict):
            raise not_an_object()
        return payload


def not_an_object() -> ApiError:
    return ApiError(400, ErrorCode.INVALID_JSON, gettext("The body must be a JSON object."))


def too_large() -> ApiError:
    return ApiError(
        413,
        ErrorCode.TOO_LARGE,
        gettext("The body may be at most %(bytes)s bytes.")
        % {"bytes": settings.API_MAX_BODY_BYTES},
    )


intake_api = NinjaAPI(
    title="Viewing Bridge intake API",
    version="1",
    description="Book buyers into an agency's viewings. Bookings are saved and answered with "
    "202 at once, then delivered to the broker system in the background; follow "
    "`status_url` to see how delivery went.",
    auth=ApiKeyAuth(),
    parser=JsonObjectParser(),
    urls_namespace="intake-api",
    openapi_url=None,  # served by openapi() below, with the server's own address
    docs_url=None,
)


@intake_api.exception_handler(ApiError)
def api_error(request, error: ApiError):
    return error.response()


@intake_api.exception_handler(HttpError)
def unparsable_body(request, error: HttpError):
    # Ninja wraps whatever the parser raises; the parser raises only ApiError.
    if isinstance(error.__cause__, ApiError):
        return error.__cause__.response()
    raise error


@intake_api.exception_handler(RequestDataTooBig)
def body_over_django_limit(request, error):
    # Ninja reads the body before the parser sees its length: one over
    # DATA_UPLOAD_MAX_MEMORY_SIZE stops there.
    return too_large().response()


@intake_api.exception_handler(AuthenticationError)
def unauthorized(request, error):
    return ApiError(
        401,
        ErrorCode.UNAUTHORIZED,
        gettext("Send a valid, unrevoked API key as 'Authorization: Bearer <key>'."),
        headers={"WWW-Authenticate": 'Bearer realm="intake"'},
    ).response()


@intake_api.exception_handler(RequestValidationError)
def invalid_request(request, error: RequestValidationError):
    """Ninja's 422 as this API's 400: each refused body field with its message."""
    fields = {}
    for problem in error.errors:
        source, *path = problem["loc"]
        if source != "body" or len(path) < 2:  # no body at all
            return missing_body(request)
        message = TYPE_ERRORS.get(problem["type"], RegexValidator.message)  # "Enter a valid value."
        fields.setdefault(str(path[1]), []).append(str(message))
    return invalid(fields).response()


def missing_body(request):
    """Ninja leaves an empty body unparsed; the parser says what is wrong with it."""
    try:
        intake_api.parser.parse_body(request)
    except ApiError as error:
        return error.response()
    return not_an_object().response()


def error_responses(*statuses: int) -> dict:
    return dict.fromkeys((401, 405, 429, *statuses), schemas.Error)


@intake_api.get(
    "/viewings",
    response={200: schemas.ViewingList, **error_responses()},
    url_name="api-viewing-list",
    operation_id="listViewings",
    summary="The agency's open, upcoming viewings and their slots",
)
def viewing_list(request):
    viewings = (
        Viewing.objects.open_for_booking()
        .filter(agency=request.auth.agency)
        .select_related("agency")
        .prefetch_related(
            Prefetch("slots", queryset=ViewingSlot.objects.upcoming().with_live_booking_count())
        )
    )
    return {"viewings": [viewing_json(viewing) for viewing in viewings]}


def viewing_json(viewing: Viewing) -> dict:
    """The viewing with its upcoming slots prefetched. As on the booking page, a date-only
    viewing and one whose times the provider hides show their day, not their times."""
    times_shown = not (viewing.date_only or viewing.hide_times)
    return {
        "id": viewing.provider_viewing_id,
        "title": viewing.title,
        "address": viewing.address,
        "date": timezone.localdate(viewing.starts_at),
        "date_only": viewing.date_only,
        "times_hidden": viewing.hide_times,
        "starts_at": viewing.starts_at if times_shown else None,
        "ends_at": viewing.ends_at if times_shown else None,
        "needs_slot": viewing.needs_slot,
        "booking_closes_at": viewing.booking_closes_at,
        "bookings_url": reverse("api-booking-create", args=[viewing.provider_viewing_id]),
        "slots": [
            {
                "id": slot.provider_slot_id,
                "starts_at": slot.starts_at,
                "ends_at": slot.ends_at,
                "number_booked": slot.number_booked,
                "bookable": slot.is_bookable and slot.places_left() != 0,
                "places_left": slot.places_left(),
                "status_checked_at": slot.status_checked_at,
            }
            for slot in (viewing.slots.all() if viewing.needs_slot else [])
        ],
    }


@intake_api.post(
    "/viewings/{provider_id:viewing_id}/bookings",
    response={202: schemas.Booking, **error_responses(400, 404, 409, 413, 415, 422)},
    url_name="api-booking-create",
    operation_id="createBooking",
    summary="Book a buyer into a viewing",
    description="`400`: a field is not valid (`invalid`), among others one longer than the "
    "agency's broker system takes (it may take fewer characters than the limits stated "
    "here; the field's message says how many). `409`: the slot is fully booked "
    "(`slot_full`), or the buyer (by email) already has a live booking of this viewing, in "
    "any of its slots (`duplicate_booking`, with the existing booking's `status_url`: one "
    "live booking per buyer and viewing; the agency moves it to another time), or the "
    "viewing's booking deadline has passed (`booking_closed`). A booking is live unless it "
    "was rejected, failed or cancelled. `422`: the Idempotency-Key was used for another "
    "request.",
)
def booking_create(
    request,
    response: HttpResponse,
    viewing_id: str,
    payload: schemas.BookingRequest,
    idempotency_key: str | None = IDEMPOTENCY_KEY_PARAM,
):
    if idempotency_key is None:
        return book(request, response, viewing_id, payload, idempotency=None)
    check_idempotency_key(idempotency_key)
    idempotency = Idempotency(
        request.auth,
        idempotency_key_digest(idempotency_key),
        request_digest(request.path, payload.model_dump(exclude_none=True)),
    )
    replay = idempotency.first_response(response)
    if replay:
        return replay
    try:
        return book(request, response, viewing_id, payload, idempotency=idempotency)
    except (ApiError, IntegrityError):
        # Refused because a request with this key booked meanwhile (its booking is the
        # duplicate, or holds the last place, or its record the key): its answer is
        # this one's too, so every simultaneous retry gets the same 202.
        replay = idempotency.first_response(response)
        if replay is None:
            raise
        return replay


def book(request, response, viewing_id: str, payload, *, idempotency) -> Status:
    api_key = request.auth
    viewing = (
        Viewing.objects.offered_online()
        .select_related("agency")
        .filter(agency=api_key.agency, provider_viewing_id=viewing_id)
        .first()
    )
    if viewing is None:
        raise ApiError(
            404, ErrorCode.NOT_FOUND, gettext("No open viewing with this id for your agency.")
        )
    form = BookingRequestForm(
        payload.model_dump(exclude_none=True, exclude={"language"}),
        viewing=viewing,
        source=Booking.Source.API,
        language=payload.language or translation.get_language(),
    )
    if not form.is_valid():
        raise validation_error(request, form)
    booking = form.consented_booking(api_key)
    try:
        with transaction.atomic():
            accept_booking(booking)
            body = booking_json(request, booking)
            if idempotency is not None:
                idempotency.record(202, body)
    except ValidationError as error:  # the same booking was saved since the form checked
        form.add_error(None, error)
        raise validation_error(request, form) from None
    return booking_accepted(response, 202, body)


@intake_api.get(
    "/bookings/{int:booking_id}",
    response={200: schemas.Booking, **error_responses(404)},
    url_name="api-booking-status",
    operation_id="getBooking",
    summary="A booking's delivery status",
)
def booking_status(request, booking_id: int):
    booking = (
        Booking.objects.select_related("viewing", "slot")
        .filter(pk=booking_id, viewing__agency=request.auth.agency)
        .first()
    )
    if booking is None:
        raise ApiError(
            404, ErrorCode.NOT_FOUND, gettext("No booking with this id for your agency.")
        )
    return booking_json(request, booking)


def booking_json(request, booking: Booking) -> dict:
    """As stored for an Idempotency-Key replay: JSON types only."""
    return {
        "id": booking.pk,
        "status": booking.status,
        "status_url": status_url(request, booking),
        "buyer_status_url": request.build_absolute_uri(status_path(booking)),
        "viewing_id": booking.viewing.provider_viewing_id,
        "slot_id": booking.slot.provider_slot_id if booking.slot_id else None,
        "created_at": booking.created_at.isoformat(),
        "delivered_at": booking.delivered_at and booking.delivered_at.isoformat(),
    }


def status_url(request, booking: Booking) -> str:
    return request.build_absolute_uri(reverse("api-booking-status", args=[booking.pk]))


def validation_error(request, form) -> ApiError:
    fields = {
        name: [error["message"] for error in field_errors]
        for name, field_errors in form.errors.get_json_data().items()
    }
    if form.has_error(NON_FIELD_ERRORS, DUPLICATE_BOOKING):
        existing = form.instance.live_duplicate()
        return ApiError(
            409,
            ErrorCode.DUPLICATE_BOOKING,
            gettext(
                "This buyer (by email) already has a live booking for this viewing: one per "
                "buyer and viewing, whatever the slot. status_url names it; to change its "
                "time, the agency moves it to another slot."
            ),
            fields=fields,
            status_url=existing and status_url(request, existing),
        )
    if form.has_error("slot", "slot_full"):
        return ApiError(
            409, ErrorCode.SLOT_FULL, gettext("This slot is fully booked."), fields=fields
        )
    if form.has_error(NON_FIELD_ERRORS, BOOKING_CLOSED):
        return ApiError(
            409,
            ErrorCode.BOOKING_CLOSED,
            gettext("Booking for this viewing has closed."),
            fields=fields,
        )
    return invalid(fields)


def check_idempotency_key(key: str) -> None:
    if not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or not key.isprintable():
        raise invalid(
            {
                IDEMPOTENCY_HEADER: [
                    gettext("Must be 1 to %(max)s printable characters.")
                    % {"max": IDEMPOTENCY_KEY_MAX_LENGTH}
                ]
            }
        )


@dataclass
class Idempotency:
    """A request's Idempotency-Key and the request, as the keyed digests stored for them."""

    api_key: ApiKey
    key_digest: str
    request_digest: str

    def first_response(self, response) -> Status | None:
        """The stored answer to the first request with this key, if this is that request
        again; ApiError (422) if the key was used for another request, or for one that can
        no longer be compared."""
        stored = IdempotentRequest.objects.filter(
            api_key=self.api_key, key_digest=self.key_digest
        ).first()
        if stored is None:
            return None
        if stored.request_fingerprint == UNKNOWN_REQUEST:
            raise key_reused(
                gettext(
                    "This Idempotency-Key was used before for a request that can no longer "
                    "be compared with this one. Send it with a new key."
                )
            )
        if stored.request_fingerprint != self.request_digest:
            raise key_reused(gettext("This Idempotency-Key was used for a different request."))
        return booking_accepted(response, stored.response_status, stored.response_body)

    def record(self, status: int, body: dict) -> None:
        IdempotentRequest.objects.create(
            api_key=self.api_key,
            key_digest=self.key_digest,
            request_fingerprint=self.request_digest,
            response_status=status,
            response_body=body,
        )


def key_reused(message: str) -> ApiError:
    return ApiError(
        422,
        ErrorCode.IDEMPOTENCY_KEY_REUSED,
        message,
        fields={IDEMPOTENCY_HEADER: [gettext("Already used for a different request.")]},
    )


def booking_accepted(response, status: int, body: dict) -> Status:
    response["Location"] = body["status_url"]
    return Status(status, body)


def refuse_other_methods(path: str, *allowed: str) -> None:
    """Answer the methods a route does not take with this API's 405, before any key check."""

    def method_not_allowed(request, **path_params):
        raise ApiError(
            405,
            ErrorCode.METHOD_NOT_ALLOWED,
            gettext("Use %(methods)s.") % {"methods": ", ".join(allowed)},
            headers={"Allow": ", ".join(allowed)},
        )

    other_methods = [
        m for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS") if m not in allowed
    ]
    with warnings.catch_warnings():
        # The refusal needs none of the path's values, which ninja warns are unused.
        warnings.simplefilter("ignore", UserWarning)
        intake_api.api_operation(other_methods, path, auth=None, include_in_schema=False)(
            method_not_allowed
        )


# Every route declared above, so a new one gets its JSON 405 too.
for route, path_view in list(intake_api.default_router.path_operations.items()):
    refuse_other_methods(
        route, *(method for operation in path_view.operations for method in operation.methods)
    )


def unknown_route(request, path):
    return ApiError(
        404, ErrorCode.NOT_FOUND, gettext("No such API route; see /api/v1/openapi.json.")
    ).response()


def openapi(request):
    document = intake_api.get_openapi_schema(path_prefix="")
    document["servers"] = [{"url": request.build_absolute_uri("/api/v1")}]
    return JsonResponse(document)
