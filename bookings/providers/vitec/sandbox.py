"""The sandbox's Vitec Connect routes (for tests and the demo; no runtime code imports this):

    POST {url}/vitec/Viewing/{customerId}/{viewingId}/{timeSlotId}/Participant
    GET  {url}/vitec/Viewing/{customerId}/{estateId}
    GET  {url}/vitec/Advertising/Estate/{customerId}?page=1&pageSize=100

`route` answers one authenticated (HTTP Basic) request over the sandbox's state
(bookings/sandbox/); a customer id the login may not use answers 403.
"""

from http import HTTPStatus
from urllib.parse import parse_qs, unquote

from bookings.sandbox.state import ProviderState, SlotFull, UnknownDeal, ViewingGone
from bookings.sandbox.validation import E164, EMAIL

PREFIX = "vitec"
BEARER = False


def route(providers: ProviderState, method: str, parts: list[str], query, headers, body, path):
    """(status, JSON payload) for an authenticated request; `parts` is the path after
    /vitec, split on "/"."""
    if parts[:1] in (["Viewing"], ["Advertising"]) and not providers.knows_vitec_customer(
        unquote(parts[1] if parts[0] == "Viewing" else parts[-1])
    ):
        return HTTPStatus.FORBIDDEN, {"Message": "No access to this customer."}
    match method, parts:
        case "GET", ["Viewing", _customer_id, estate_id]:
            try:
                return HTTPStatus.OK, providers.vitec_estate_viewings(unquote(estate_id))
            except UnknownDeal:
                return HTTPStatus.NOT_FOUND, {"Message": "Estate not found."}
        case "GET", ["Advertising", "Estate", _customer_id]:
            return estates(providers, parse_qs(query))
        case "POST", ["Viewing", _customer_id, viewing_id, slot_id, "Participant"]:
            return add_participant(providers, viewing_id, slot_id, body, path)
    return HTTPStatus.NOT_FOUND, {"message": "Not found."}


def estates(providers: ProviderState, query: dict[str, list[str]]):
    # Paging assumed (docs/vitec.md): `page` from 1, `pageSize` up to 100.
    try:
        page = int(query.get("page", ["1"])[0])
        page_size = int(query.get("pageSize", ["100"])[0])
    except ValueError:
        page = page_size = 0
    if page < 1 or not 1 <= page_size <= 100:
        return HTTPStatus.BAD_REQUEST, {"Message": "The request is invalid."}
    entries, total = providers.vitec_estates(page, page_size)
    return HTTPStatus.OK, {"Estates": entries, "TotalCount": total}


def add_participant(providers: ProviderState, viewing_id, slot_id, body, path):
    # Invented in the shape of an ASP.NET Web API validation error (docs/vitec.md).
    model_state = {}
    person = body.get("updatePerson") if isinstance(body, dict) else None
    if not isinstance(person, dict):
        model_state["participant.UpdatePerson"] = ["UpdatePerson is required."]
        person = {}
    for name in ("firstName", "lastName"):
        if not str(person.get(name) or "").strip():
            model_state[f"participant.UpdatePerson.{name[0].upper()}{name[1:]}"] = ["Required."]
    email = (person.get("email") or {}).get("emailAddress") or ""
    if email and not EMAIL.match(email):
        model_state["participant.UpdatePerson.Email.EmailAddress"] = ["Invalid email."]
    phone = person.get("cellPhone") or ""
    if phone and not E164.match(phone):
        model_state["participant.UpdatePerson.CellPhone"] = ["Invalid phone number."]
    if not email and not phone:
        model_state["participant.UpdatePerson"] = ["Email or cell phone is required."]
    if model_state:
        return HTTPStatus.BAD_REQUEST, {
            "Message": "The request is invalid.",
            "ModelState": model_state,
        }
    options = body.get("options") or {}
    try:
        booking_id = providers.add_vitec_participant(
            viewing_id,
            slot_id,
            body,
            path,
            limit=bool(options.get("enableBookingLimitValidation")),
        )
    except ViewingGone:
        return HTTPStatus.NOT_FOUND, {"Message": f"Viewing {viewing_id} not found."}
    except SlotFull:
        return HTTPStatus.BAD_REQUEST, {
            "Message": "The request is invalid.",
            "ModelState": {"BookingLimit": ["Visningstillfället är fullbokat."]},
        }
    return HTTPStatus.OK, booking_id if body.get("returnBookingId") else ""
