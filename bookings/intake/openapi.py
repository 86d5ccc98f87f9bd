"""The OpenAPI 3.1 description of the intake API, served at /api/v1/openapi.json.

Written by hand next to bookings/intake/api.py; tests check it lists every API route and that
live responses carry the properties it names."""

from bookings.models import MESSAGE_MAX_LENGTH, Booking

ERROR = {"$ref": "#/components/schemas/Error"}


def error_response(description: str, headers: dict | None = None) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": ERROR}}}
    if headers:
        response["headers"] = headers
    return response


RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}
COMMON_ERRORS = {
    "401": error_response("Missing, unknown or revoked API key (code `unauthorized`)."),
    "405": error_response("Wrong method (code `method_not_allowed`)."),
    "429": error_response("Too many requests for this key (code `rate_limited`).", RETRY_AFTER),
}
TIMESTAMP = {"type": "string", "format": "date-time"}
NAME = {
    "type": "string",
    "maxLength": 100,
    "description": "Normalised to Unicode NFC. Control, formatting and line-break "
    "characters are refused, except a zero-width joiner inside an emoji.",
}

SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {
                        "type": "string",
                        "enum": [
                            "invalid",
                            "invalid_json",
                            "unauthorized",
                            "not_found",
                            "method_not_allowed",
                            "slot_full",
                            "duplicate_booking",
                            "too_large",
                            "unsupported_media_type",
                            "idempotency_key_reused",
                            "rate_limited",
                        ],
                    },
                    "message": {"type": "string"},
                    "fields": {
                        "type": "object",
                        "description": "Messages per field (or `Idempotency-Key`); "
                        "`__all__` for errors of the booking as a whole.",
                        "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    },
                    "status_url": {
                        "type": "string",
                        "format": "uri",
                        "description": "With `duplicate_booking`: the existing booking's "
                        "status URL.",
                    },
                },
            }
        },
    },
    "BookingRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["first_name", "last_name", "email", "phone", "consent"],
        "properties": {
            "slot": {
                "type": "string",
                "description": "The slot's id (from the viewing list); required when the "
                "viewing's `needs_slot` is true, not allowed otherwise.",
            },
            "first_name": NAME,
            "last_name": NAME,
            "email": {"type": "string", "format": "email"},
            "phone": {
                "type": "string",
                "description": "Any common format (`070-123 45 67`, `+46 70 123 45 67`); "
                "numbers without a country prefix are read in the agency's region. "
                "Stored in E.164.",
            },
            "message": {
                "type": "string",
                "maxLength": MESSAGE_MAX_LENGTH,
                "description": "Message to the broker.",
            },
            "consent": {
                "type": "boolean",
                "const": True,
                "description": "The buyer consented to the agency processing their personal "
                "data; the time of the request is stored as the time of consent.",
            },
        },
    },
    "Booking": {
        "type": "object",
        "required": [
            "id",
            "status",
            "status_url",
            "viewing_id",
            "slot_id",
            "created_at",
            "delivered_at",
        ],
        "properties": {
            "id": {"type": "integer"},
            "status": {
                "type": "string",
                "enum": list(Booking.Status.values),
            },
            "status_url": {"type": "string", "format": "uri"},
            "viewing_id": {"type": "string"},
            "slot_id": {"type": ["string", "null"]},
            "created_at": TIMESTAMP,
            "delivered_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "Viewing": {
        "type": "object",
        "required": [
            "id",
            "title",
            "address",
            "starts_at",
            "ends_at",
            "needs_slot",
            "bookings_url",
            "slots",
        ],
        "properties": {
            "id": {"type": "string", "description": "The viewing's id in the broker system."},
            "title": {"type": "string"},
            "address": {"type": "string"},
            "starts_at": TIMESTAMP,
            "ends_at": TIMESTAMP,
            "needs_slot": {"type": "boolean"},
            "bookings_url": {"type": "string"},
            "slots": {
                "type": "array",
                "description": "Upcoming slots (empty for viewings without slots).",
                "items": {"$ref": "#/components/schemas/Slot"},
            },
        },
    },
    "Slot": {
        "type": "object",
        "required": ["id", "starts_at", "ends_at", "number_booked", "bookable"],
        "properties": {
            "id": {"type": "string", "description": "The slot's id in the broker system."},
            "starts_at": TIMESTAMP,
            "ends_at": TIMESTAMP,
            "number_booked": {"type": "integer"},
            "bookable": {"type": "boolean", "description": "False when fully booked."},
            "status_checked_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
}


def openapi_document(server_url: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Viewing Bridge intake API",
            "version": "1",
            "description": "Book buyers into an agency's viewings. Bookings are saved and "
            "answered with 202 at once, then delivered to the broker system in the "
            "background; follow `status_url` to see how delivery went.",
        },
        "servers": [{"url": server_url}],
        "security": [{"apiKey": []}],
        "components": {
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An agency API key, created in the admin (shown once).",
                }
            },
            "schemas": SCHEMAS,
        },
        "paths": {
            "/viewings": {
                "get": {
                    "operationId": "listViewings",
                    "summary": "The agency's open, upcoming viewings and their slots",
                    "responses": {
                        "200": {
                            "description": "Open viewings.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["viewings"],
                                        "properties": {
                                            "viewings": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Viewing"},
                                            }
                                        },
                                    }
                                }
                            },
                        },
                        **COMMON_ERRORS,
                    },
                }
            },
            "/viewings/{viewing_id}/bookings": {
                "post": {
                    "operationId": "createBooking",
                    "summary": "Book a buyer into a viewing",
                    "parameters": [
                        {
                            "name": "viewing_id",
                            "in": "path",
                            "required": True,
                            "description": "The viewing's id in the broker system (as listed).",
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "description": "Up to 200 printable characters. A retry with the "
                            "same key and body returns the first 202 response instead of "
                            "booking again; the same key with another body is refused (422).",
                            "schema": {"type": "string", "maxLength": 200},
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/BookingRequest"}
                            }
                        },
                    },
                    "responses": {
                        "202": {
                            "description": "Saved and queued for delivery.",
                            "headers": {
                                "Location": {
                                    "description": "The status URL.",
                                    "schema": {"type": "string"},
                                }
                            },
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Booking"}
                                }
                            },
                        },
                        "400": error_response(
                            "Invalid JSON (`invalid_json`) or fields (`invalid`, with `fields`)."
                        ),
                        "404": error_response("No open viewing with this id for the agency."),
                        "409": error_response(
                            "The slot is fully booked (`slot_full`), or the buyer (by email) "
                            "already has a live booking of this viewing and slot "
                            "(`duplicate_booking`, with the existing booking's `status_url`). "
                            "A booking is live unless it was rejected, failed, cancelled or "
                            "set aside for review."
                        ),
                        "413": error_response("The body is too large (`too_large`)."),
                        "415": error_response("Not application/json."),
                        "422": error_response(
                            "Idempotency-Key reused for another request (`idempotency_key_reused`)."
                        ),
                        **COMMON_ERRORS,
                    },
                }
            },
            "/bookings/{booking_id}": {
                "get": {
                    "operationId": "getBooking",
                    "summary": "A booking's delivery status",
                    "parameters": [
                        {
                            "name": "booking_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The booking.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Booking"}
                                }
                            },
                        },
                        "404": error_response("No booking with this id for the agency."),
                        **COMMON_ERRORS,
                    },
                }
            },
        },
    }
