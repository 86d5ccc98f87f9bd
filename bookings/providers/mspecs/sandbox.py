"""The sandbox's MSPECS routes (for tests and the demo; no runtime code imports this):

    POST {url}/mspecs/v3/viewings/externalViewer/{viewingId}[/slot/{slotId}]
    GET  {url}/mspecs/v3/viewings/slot/status/{dealId}
    GET  {url}/mspecs/api/marketing/deals/{dealId}
    GET  {url}/mspecs/api/marketing/deals            (the published deals)
    POST {url}/mspecs/api/marketing/deals/{dealId}/externalViewer/{viewingId}[/slot/{slotId}]
    GET  {url}/mspecs/schema[/{table}]              MSPX discovery
    GET  {url}/mspecs/{table}[/{id}]                MSPX rows: ?limit=&offset=&q=&sort=&fields=

`route` answers one authenticated request over the sandbox's state (bookings/sandbox/), in
MSPECS's shapes only (its contract, `contract/`): deals as stored (checked against the
contract when set), a 400 as a BadRequestError {"message"}, a 404 on a deal as a
NoDealFoundError, and an external viewer held to the published fields and lengths. HTTP
Basic and `Authorization: Bearer <access token>` are both taken; the `subscriber-id` header
is required on the provider API (`/api/...`) and checked wherever it is sent.
"""

import re
from http import HTTPStatus
from urllib.parse import parse_qs, unquote

from bookings.providers.mspecs.schemas import CONTRACT
from bookings.sandbox.state import ProviderState, SlotFull, UnknownDeal, UnknownSlot, ViewingGone

PREFIX = "mspecs"
BEARER = True  # access tokens are taken beside HTTP Basic


def subscriber_refusal(providers: ProviderState, headers, parts: list[str]):
    """MSPECS's subscriber-id header: required on the provider API, and wherever sent it
    must name a subscriber the login may act for."""
    subscriber = headers.get("subscriber-id")
    if subscriber is None:
        if parts[:1] == ["api"]:
            return bad_request("The subscriber-id header is required.")
        return None
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    token_subscriber = (
        providers.access_token_subscriber(token) if scheme.lower() == "bearer" else None
    )
    if not providers.knows_mspecs_subscriber(subscriber) or token_subscriber not in (
        None,
        subscriber,
    ):
        return HTTPStatus.FORBIDDEN, {"message": "No access to this subscriber."}
    return None


def route(providers: ProviderState, method: str, parts: list[str], query, headers, body, path):
    """(status, JSON payload[, headers]) for an authenticated request; `parts` is the path
    after /mspecs, split on "/"."""
    if refusal := subscriber_refusal(providers, headers, parts):
        return refusal
    match method, parts:
        case "POST", ["v3", "viewings", "externalViewer", viewing_id]:
            return add_viewer(providers, viewing_id, None, body, path)
        case "POST", ["v3", "viewings", "externalViewer", viewing_id, "slot", slot]:
            return add_viewer(providers, viewing_id, slot, body, path)
        case "GET", ["v3", "viewings", "slot", "status", deal_id]:
            return slot_status(providers, deal_id)
        case "GET", ["api", "marketing", "deals"]:
            return published_deals(providers, query, headers)
        case "GET", ["api", "marketing", "deals", deal_id]:
            try:
                return HTTPStatus.OK, providers.mspecs_deal(unquote(deal_id))
            except UnknownDeal:
                # NoDealFoundError's description in the OpenAPI.
                return HTTPStatus.NOT_FOUND, {"message": "Deal not found"}
        case "POST", ["api", "marketing", "deals", _, "externalViewer", viewing_id]:
            return add_viewer(providers, viewing_id, None, body, path)
        case "POST", ["api", "marketing", "deals", _, "externalViewer", viewing_id, "slot", slot]:
            return add_viewer(providers, viewing_id, slot, body, path)
        case "GET", ["schema"]:
            return HTTPStatus.OK, sorted(MSPX_TABLES)
        case "GET", ["schema", table]:
            return mspx_description(providers, unquote(table))
        case "GET", [table] if unquote(table) in MSPX_TABLES:
            return mspx_list(providers, unquote(table), query)
        case "GET", [table, row_id] if unquote(table) in MSPX_TABLES:
            return mspx_row(providers, unquote(table), unquote(row_id))
    return HTTPStatus.NOT_FOUND, {"message": "Not found."}


def bad_request(message: str):
    """A BadRequestError as MSPECS's own client reads it (docs/mspecs.md, "Errors")."""
    return HTTPStatus.BAD_REQUEST, {"message": message}


def add_viewer(providers: ProviderState, viewing_id: str, slot_id: str | None, body, path):
    if violations := CONTRACT.violations("external_viewer", body):
        # Names the field and echoes the value, as real APIs often do (the engine redacts).
        return bad_request(str(violations[0]))
    try:
        providers.add_mspecs_viewer(viewing_id, slot_id, body, path)
    except ViewingGone:
        return HTTPStatus.NOT_FOUND, {"message": f"Viewing {viewing_id} not found."}
    except UnknownSlot:
        return HTTPStatus.NOT_FOUND, {"message": f"Slot {slot_id} not found."}
    except SlotFull:
        return bad_request("The slot is fully booked.")
    # "successful operation", without a body (the OpenAPI publishes none).
    return HTTPStatus.OK, None


def slot_status(providers: ProviderState, deal_id: str):
    try:
        slots = providers.mspecs_slot_status(deal_id)
    except UnknownDeal:
        return HTTPStatus.NOT_FOUND, {"message": f"Deal {deal_id} not found."}
    return HTTPStatus.OK, {
        slot_id: {"numberOfBooked": booked, "fullyBooked": full}
        for slot_id, (booked, full) in slots.items()
    }


def published_deals(providers: ProviderState, query: str, headers):
    """`GET /api/marketing/deals`: the request as documented (no query, the subscriber-id
    header), else 400 as MSPECS's BadRequestError."""
    request = {"query": parse_qs(query), "headers": {"subscriber-id": headers.get("subscriber-id")}}
    if violations := CONTRACT.violations("published_deals_request", request):
        return HTTPStatus.BAD_REQUEST, {"message": str(violations[0])}
    return HTTPStatus.OK, providers.mspecs_published_deals(request)


# --- MSPX (docs/mspecs.md, "Two APIs") -------------------------------------------------

# The tables the sandbox's MSPX holds and the public fields its discovery lists: the names
# we assume (bookings/providers/mspecs/contract/mspx_*.schema.json), with the documented
# field types.
MSPX_TABLES = {
    "deals": [
        ("id", "primaryKey"),
        ("streetAddress", "text"),
        ("postalCode", "text"),
        ("city", "text"),
    ],
    "viewings": [
        ("id", "primaryKey"),
        ("dealId", "foreignKey"),
        ("type", "enum"),
        ("startDate", "datetime"),
        ("endDate", "datetime"),
        ("allowExternalBooking", "bit"),
        ("externalBookingLatestHourBefore", "int"),
        ("slotLength", "int"),
        ("slotCapacity", "int"),
    ],
    "viewingSlots": [
        ("id", "primaryKey"),
        ("viewingId", "foreignKey"),
        ("startTime", "datetime"),
    ],
}
# The one query form the sandbox understands: field='value' (the syntax is assumed).
MSPX_EQUALS = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)='([^']*)'$")
MSPX_FIELD_LIST = re.compile(r"^-?[A-Za-z_][A-Za-z0-9_]*(?:,-?[A-Za-z_][A-Za-z0-9_]*)*$")


def mspx_description(providers: ProviderState, table: str):
    """`GET /schema/:table`: the table's description (discovery_api.txt)."""
    if table not in MSPX_TABLES:
        return HTTPStatus.NOT_FOUND, {"message": f"No table {table}."}
    description = providers.mspx_description(table) or {
        "name": table,
        "publicFields": [
            {"name": name, "type": field_type, **({"maxLength": 80} if "Key" in field_type else {})}
            for name, field_type in MSPX_TABLES[table]
        ],
    }
    return HTTPStatus.OK, description


def mspx_row(providers: ProviderState, table: str, row_id: str):
    """`GET /:table/:id`: that object only, or 404."""
    row = (providers.mspx_table(table) or {}).get(row_id)
    if row is None:
        return HTTPStatus.NOT_FOUND, {"message": f"No {table} {row_id}."}
    return HTTPStatus.OK, row


def mspx_list(providers: ProviderState, table: str, query: str):
    """`GET /:table?limit=&offset=&q=&sort=&fields=`: one page of the rows, at most the
    limit asked and the server's own (1000, or less when steered), which the
    `X-Results-Limit` header says; 400 for parameters it cannot read."""
    params = parse_qs(query, keep_blank_values=True)
    row_limit = providers.mspx_list_read(table, params)
    try:
        if any(len(values) != 1 for values in params.values()):
            raise ValueError("each parameter once")
        given = {name: values[0] for name, values in params.items()}
        limit = min(int(given.get("limit", row_limit)), row_limit)
        offset = int(given.get("offset", 0))
        if limit < 1 or offset < 0:
            raise ValueError("limit and offset")
        rows = list((providers.mspx_table(table) or {}).values())
        if "q" in given:
            field, value = MSPX_EQUALS.match(given["q"]).groups()
            rows = [row for row in rows if str(row.get(field)) == value]
        for key in reversed(mspx_field_list(given.get("sort"))):
            rows.sort(key=lambda row: str(row.get(key.lstrip("-")) or ""), reverse=key[0] == "-")
        if fields := mspx_field_list(given.get("fields")):
            # Names to return, or (each prefixed with -) names to leave out; not both.
            omitted = {name[1:] for name in fields if name.startswith("-")}
            if omitted and len(omitted) != len(fields):
                raise ValueError("fields both named and omitted")
            rows = [
                {k: v for k, v in row.items() if (k not in omitted if omitted else k in fields)}
                for row in rows
            ]
    except (AttributeError, ValueError):
        return HTTPStatus.BAD_REQUEST, {"message": f"Cannot read the query {query!r}."}
    return HTTPStatus.OK, rows[offset : offset + limit], {"X-Results-Limit": str(limit)}


def mspx_field_list(value: str | None) -> list[str]:
    """A `fields` or `sort` parameter as its names (a leading - kept); ValueError if not one."""
    if value is None:
        return []
    if not MSPX_FIELD_LIST.match(value):
        raise ValueError(value)
    return value.split(",")
