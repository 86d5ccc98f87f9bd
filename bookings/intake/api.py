"""JSON intake API for agencies' websites and portals, under /api/v1/ (described by
bookings/intake/openapi.py). Bookings go through the same form and intake as the public page."""

import hashlib
import json
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.http import JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from agencies.models import ApiKey
from bookings.intake.forms import BookingRequestForm
from bookings.intake.openapi import openapi_document
from bookings.intake.ratelimit import over_limit
from bookings.intake.service import accept_booking
from bookings.models import DUPLICATE_BOOKING, Booking, IdempotentRequest, Viewing, ViewingSlot

TEXT_FIELDS = ("slot", "first_name", "last_name", "email", "phone", "message")
BOOKING_FIELDS = (*TEXT_FIELDS, "consent")
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 200
# Recording when a key was last used costs a write; once a minute is precise enough.
LAST_USED_PRECISION = timedelta(minutes=1)


class ApiError(Exception):
    def __init__(self, status, code, message, fields=None, headers=None, status_url=None):
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


def api_view(*methods):
    """A JSON endpoint: CSRF-exempt (it takes no cookies), its methods only, a Bearer API
    key, the key's rate limit, and every refusal as a JSON error."""

    def decorator(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                if request.method not in methods:
                    raise ApiError(
                        405,
                        "method_not_allowed",
                        f"Use {' or '.join(methods)}.",
                        headers={"Allow": ", ".join(methods)},
                    )
                api_key = authenticate(request)
                retry_after = over_limit(f"api-key:{api_key.pk}", settings.API_RATE_LIMIT_PER_KEY)
                if retry_after:
                    raise ApiError(
                        429,
                        "rate_limited",
                        "Too many requests for this API key.",
                        headers={"Retry-After": str(retry_after)},
                    )
                return view(request, api_key, *args, **kwargs)
            except ApiError as error:
                return error.response()

        return wrapper

    return decorator


def authenticate(request) -> ApiKey:
    scheme, _, raw_key = request.headers.get("Authorization", "").partition(" ")
    api_key = ApiKey.authenticate(raw_key.strip()) if scheme.lower() == "bearer" else None
    if api_key is None:
        raise ApiError(
            401,
            "unauthorized",
            "Send a valid, unrevoked API key as 'Authorization: Bearer <key>'.",
            headers={"WWW-Authenticate": 'Bearer realm="intake"'},
        )
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_PRECISION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    return api_key


@api_view("GET")
def viewing_list(request, api_key):
    viewings = (
        Viewing.objects.bookable()
        .filter(agency=api_key.agency)
        .select_related("agency")
        .prefetch_related(Prefetch("slots", queryset=ViewingSlot.objects.upcoming()))
    )
    return JsonResponse({"viewings": [viewing_json(viewing) for viewing in viewings]})


def viewing_json(viewing: Viewing) -> dict:
    """The viewing with its upcoming slots prefetched."""
    return {
        "id": viewing.provider_viewing_id,
        "title": viewing.title,
        "address": viewing.address,
        "starts_at": viewing.starts_at.isoformat(),
        "ends_at": viewing.ends_at.isoformat(),
        "needs_slot": viewing.needs_slot,
        "bookings_url": reverse("api-booking-create", args=[viewing.provider_viewing_id]),
        "slots": [
            {
                "id": slot.provider_slot_id,
                "starts_at": slot.starts_at.isoformat(),
                "ends_at": slot.ends_at.isoformat(),
                "number_booked": slot.number_booked,
                "bookable": slot.is_bookable,
                "status_checked_at": slot.status_checked_at and slot.status_checked_at.isoformat(),
            }
            for slot in (viewing.slots.all() if viewing.needs_slot else [])
        ],
    }


@api_view("POST")
def booking_create(request, api_key, viewing_id):
    payload = read_json_object(request)
    idempotency_key = request.headers.get(IDEMPOTENCY_HEADER)
    fingerprint = request_fingerprint(request)
    if idempotency_key is not None:
        check_idempotency_key(idempotency_key)
        replay = first_response(api_key, idempotency_key, fingerprint)
        if replay:
            return replay

    viewing = (
        Viewing.objects.bookable()
        .select_related("agency")
        .filter(agency=api_key.agency, provider_viewing_id=viewing_id)
        .first()
    )
    if viewing is None:
        raise ApiError(404, "not_found", "No open viewing with this id for your agency.")
    if payload.get("slot") and not viewing.needs_slot:
        # The form has no slot field for such a viewing and would drop it unseen.
        raise ApiError(
            400,
            "invalid",
            "Some fields are not valid.",
            fields={"slot": ["This viewing has no time slots; leave the slot out."]},
        )
    form = BookingRequestForm(payload, viewing=viewing, source=Booking.Source.API)
    if not form.is_valid():
        raise validation_error(request, form)
    booking = form.consented_booking()
    try:
        with transaction.atomic():
            accept_booking(booking)
            body = booking_json(request, booking)
            if idempotency_key is not None:
                IdempotentRequest.objects.create(
                    api_key=api_key,
                    key=idempotency_key,
                    request_fingerprint=fingerprint,
                    response_status=202,
                    response_body=body,
                )
    except IntegrityError:
        # A concurrent request with the same key won; this booking was rolled back.
        replay = first_response(api_key, idempotency_key, fingerprint)
        if replay is None:
            raise
        return replay
    except ValidationError as error:  # e.g. the slot filled up since the form was valid
        form.add_intake_errors(error)
        raise validation_error(request, form) from None
    return booking_accepted(202, body)


@api_view("GET")
def booking_status(request, api_key, booking_id):
    booking = (
        Booking.objects.select_related("viewing", "slot")
        .filter(pk=booking_id, viewing__agency=api_key.agency)
        .first()
    )
    if booking is None:
        raise ApiError(404, "not_found", "No booking with this id for your agency.")
    return JsonResponse(booking_json(request, booking))


def booking_json(request, booking: Booking) -> dict:
    return {
        "id": booking.pk,
        "status": booking.status,
        "status_url": status_url(request, booking),
        "viewing_id": booking.viewing.provider_viewing_id,
        "slot_id": booking.slot.provider_slot_id if booking.slot_id else None,
        "created_at": booking.created_at.isoformat(),
        "delivered_at": booking.delivered_at and booking.delivered_at.isoformat(),
    }


def status_url(request, booking: Booking) -> str:
    return request.build_absolute_uri(reverse("api-booking-status", args=[booking.pk]))


def read_json_object(request) -> dict:
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.API_MAX_BODY_BYTES:
        raise ApiError(
            413, "too_large", f"The body may be at most {settings.API_MAX_BODY_BYTES} bytes."
        )
    try:
        payload = json.loads(request.body)
    except (ValueError, RecursionError):
        raise ApiError(400, "invalid_json", "The body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    fields = {}
    for name, value in payload.items():
        if name not in BOOKING_FIELDS:
            fields[name] = ["Unknown field."]
        elif name == "consent":
            if not isinstance(value, bool):
                fields[name] = ["Must be true or false."]
        elif value is not None and not isinstance(value, str):
            fields[name] = ["Must be a string."]
        elif value is not None and not is_encodable(value):
            fields[name] = ["Must be valid Unicode text."]
    if fields:
        raise ApiError(400, "invalid", "Some fields are not valid.", fields=fields)
    # The form reads a missing and a null value alike: as not given.
    return {name: value for name, value in payload.items() if value is not None}


def is_encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate escape such as "\ud800"
        return False
    return True


def validation_error(request, form) -> ApiError:
    fields = {
        name: [error["message"] for error in field_errors]
        for name, field_errors in form.errors.get_json_data().items()
    }
    if form.has_error(NON_FIELD_ERRORS, DUPLICATE_BOOKING):
        existing = form.instance.live_duplicate()
        return ApiError(
            409,
            DUPLICATE_BOOKING,
            "This buyer already has a live booking for this viewing and slot.",
            fields=fields,
            status_url=existing and status_url(request, existing),
        )
    if any(error.code == "slot_full" for error in form.errors.as_data().get("slot", [])):
        return ApiError(409, "slot_full", "This slot is fully booked.", fields=fields)
    return ApiError(400, "invalid", "Some fields are not valid.", fields=fields)


def check_idempotency_key(key: str) -> None:
    if not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or not key.isprintable():
        raise ApiError(
            400,
            "invalid",
            "Some fields are not valid.",
            fields={
                IDEMPOTENCY_HEADER: [
                    f"Must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable characters."
                ]
            },
        )


def request_fingerprint(request) -> str:
    digest = hashlib.sha256(request.path.encode())
    digest.update(b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def first_response(api_key, idempotency_key, fingerprint) -> JsonResponse | None:
    stored = IdempotentRequest.objects.filter(api_key=api_key, key=idempotency_key).first()
    if stored is None:
        return None
    if stored.request_fingerprint != fingerprint:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "This Idempotency-Key was used for a different request.",
            fields={IDEMPOTENCY_HEADER: ["Already used for a different request."]},
        )
    return booking_accepted(stored.response_status, stored.response_body)


def booking_accepted(status: int, body: dict) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Location"] = body["status_url"]
    return response


@csrf_exempt
def unknown_route(request, path):
    return ApiError(404, "not_found", "No such API route; see /api/v1/openapi.json.").response()


def openapi(request):
    return JsonResponse(openapi_document(request.build_absolute_uri("/api/v1")))
