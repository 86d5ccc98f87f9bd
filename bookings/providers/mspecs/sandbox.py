"""The sandbox's MSPECS routes (for tests and the demo; no runtime code imports this):

    POST {url}/mspecs/v3/viewings/externalViewer/{viewingId}[/slot/{slotId}]
    GET  {url}/mspecs/v3/viewings/slot/status/{dealId}
    GET  {url}/mspecs/api/marketing/deals/{dealId}
    GET  {url}/mspecs/api/marketing/deals            (the published deals)

`route` answers one authenticated request over the sandbox's state (bookings/sandbox/).
HTTP Basic and `Authorization: Bearer <access token>` are both taken; the `subscriber-id`
header is required on the provider API (`/api/...`) and checked wherever it is sent.
"""

from http import HTTPStatus
from urllib.parse import parse_qs, unquote

from bookings.providers.mspecs.client import CONTRACT
from bookings.sandbox.state import ProviderState, SlotFull, UnknownDeal, UnknownSlot, ViewingGone
from bookings.sandbox.validation import E164, EMAIL

PREFIX = "mspecs"
BEARER = True  # access tokens are taken beside HTTP Basic


def subscriber_refusal(providers: ProviderState, headers, parts: list[str]):
    """MSPECS's subscriber-id header: required on the provider API, and wherever sent it
    must name a subscriber the login may act for."""
    subscriber = headers.get("subscriber-id")
    if subscriber is None:
        if parts[:1] == ["api"]:
            return HTTPStatus.BAD_REQUEST, {"message": "The subscriber-id header is required."}
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
    """(status, JSON payload) for an authenticated request; `parts` is the path after
    /mspecs, split on "/"."""
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
                return HTTPStatus.NOT_FOUND, {"message": "Deal not found."}
    return HTTPStatus.NOT_FOUND, {"message": "Not found."}


def add_viewer(providers: ProviderState, viewing_id: str, slot_id: str | None, body, path):
    errors = {}
    if not isinstance(body, dict):
        return HTTPStatus.BAD_REQUEST, {"errors": {"body": ["A JSON object is required."]}}
    for name in ("firstName", "lastName"):
        if not str(body.get(name) or "").strip():
            errors[name] = ["Required."]
    if not EMAIL.match(str(body.get("email") or "")):
        errors["email"] = ["A valid email address is required."]
    phone = str(body.get("phoneNumber") or "")
    if not E164.match(phone):
        # Echoes the value, as real APIs often do (the engine must redact it).
        errors["phoneNumber"] = [f"'{phone}' must be in international format."]
    if errors:
        return HTTPStatus.BAD_REQUEST, {"errors": errors}
    try:
        record_id = providers.add_mspecs_viewer(viewing_id, slot_id, body, path)
    except ViewingGone:
        return HTTPStatus.NOT_FOUND, {"message": f"Viewing {viewing_id} not found."}
    except UnknownSlot:
        return HTTPStatus.NOT_FOUND, {"message": f"Slot {slot_id} not found."}
    except SlotFull:
        return HTTPStatus.BAD_REQUEST, {"errors": {"slot": ["The slot is fully booked."]}}
    return HTTPStatus.OK, {"id": record_id}


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
