"""The sandbox's MSPECS routes (for tests and the demo; no runtime code imports this):

    POST {url}/mspecs/v3/viewings/externalViewer/{viewingId}[/slot/{slotId}]
    GET  {url}/mspecs/v3/viewings/slot/status/{dealId}
    GET  {url}/mspecs/api/marketing/deals/{dealId}

`route` answers one authenticated request over the sandbox's state (bookings/sandbox/), in
MSPECS's shapes only (its contract, `contract/`): deals as stored (checked against the
contract when set), a 400 as a BadRequestError {"message"}, a 404 on a deal as a
NoDealFoundError, and an external viewer held to the published fields and lengths. HTTP
Basic and `Authorization: Bearer <access token>` are both taken; the `subscriber-id` header
is required on the provider API (`/api/...`) and checked wherever it is sent.
"""

from http import HTTPStatus
from urllib.parse import unquote

from bookings.providers.mspecs.client import CONTRACT
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
        case "GET", ["api", "marketing", "deals", deal_id]:
            try:
                return HTTPStatus.OK, providers.mspecs_deal(unquote(deal_id))
            except UnknownDeal:
                # NoDealFoundError's description in the OpenAPI.
                return HTTPStatus.NOT_FOUND, {"message": "Deal not found"}
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
