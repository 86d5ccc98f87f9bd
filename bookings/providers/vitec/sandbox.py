"""The sandbox's Vitec Connect routes (for tests and the demo; no runtime code imports this),
answering in the shapes of Vitec's contract (`contract/`, docs/vitec.md):

    POST {url}/vitec/Viewing/{customerId}/{viewingId}/{timeSlotId}/Participant
    GET  {url}/vitec/Viewing/{customerId}/{estateId}
    GET  {url}/vitec/Advertising/Estate/{customerId}?PageSize=100&PageIndex=0
                                         &ChangedAtMinValue=...&ChangedAtMaxValue=...
    GET  {url}/vitec/Advertising/Estate/{customerId}/{estateId}

`route` answers one authenticated (HTTP Basic) request over the sandbox's state
(bookings/sandbox/); a customer id the login may not use answers 403. Errors are in the
assumed ASP.NET shape (error.schema.json).
"""

import math
from datetime import datetime
from http import HTTPStatus
from urllib.parse import parse_qs, unquote

from bookings.providers.vitec.client import CONTRACT, ESTATE_PAGE_SIZE, FIRST_PAGE_INDEX
from bookings.sandbox.state import ProviderState, SlotFull, UnknownDeal, ViewingGone
from bookings.sandbox.validation import E164, EMAIL

PREFIX = "vitec"
BEARER = False
INVALID = {"Message": "The request is invalid."}


def customer_of(parts: list[str]) -> str | None:
    """The customer id a Vitec path names, if it names one."""
    if parts[:1] == ["Viewing"] and len(parts) > 1:
        return unquote(parts[1])
    if parts[:2] == ["Advertising", "Estate"] and len(parts) > 2:
        return unquote(parts[2])
    return None


def route(providers: ProviderState, method: str, parts: list[str], query, headers, body, path):
    """(status, JSON payload) for an authenticated request; `parts` is the path after
    /vitec, split on "/"."""
    customer_id = customer_of(parts)
    if customer_id is not None and not providers.knows_vitec_customer(customer_id):
        return HTTPStatus.FORBIDDEN, {"Message": "No access to this customer."}
    try:
        match method, parts:
            case "GET", ["Viewing", _customer_id, estate_id]:
                return HTTPStatus.OK, providers.vitec_estate_viewings(unquote(estate_id))
            case "GET", ["Advertising", "Estate", _customer_id]:
                return estate_list(providers, customer_id, parse_qs(query))
            case "GET", ["Advertising", "Estate", _customer_id, estate_id]:
                return HTTPStatus.OK, providers.vitec_estate(unquote(estate_id))
            case "POST", ["Viewing", _customer_id, viewing_id, slot_id, "Participant"]:
                return add_participant(providers, unquote(viewing_id), unquote(slot_id), body, path)
    except UnknownDeal:
        return HTTPStatus.NOT_FOUND, {"Message": "Estate not found."}
    return HTTPStatus.NOT_FOUND, {"Message": "Not found."}


def estate_list(providers: ProviderState, customer_id: str, query: dict[str, list[str]]):
    """One page of the customer's published estates. ASP.NET binds query names in any
    case; the paging (pages from FIRST_PAGE_INDEX, at most ESTATE_PAGE_SIZE rows) is our
    assumption (docs/vitec.md)."""
    values = {name.lower(): given[0] for name, given in query.items()}
    try:
        page_size = int(values.get("pagesize", ESTATE_PAGE_SIZE))
        page_index = int(values.get("pageindex", FIRST_PAGE_INDEX))
        changed = [
            datetime.fromisoformat(values[name]) if name in values else None
            for name in ("changedatminvalue", "changedatmaxvalue")
        ]
    except ValueError:
        return HTTPStatus.BAD_REQUEST, INVALID
    if not 1 <= page_size <= ESTATE_PAGE_SIZE or page_index < FIRST_PAGE_INDEX:
        return HTTPStatus.BAD_REQUEST, INVALID
    rows = providers.vitec_estate_rows(customer_id, *changed)
    start = (page_index - FIRST_PAGE_INDEX) * page_size
    return HTTPStatus.OK, {
        "index": page_index,
        "count": math.ceil(len(rows) / page_size),
        "totalRowCount": len(rows),
        "rows": rows[start : start + page_size],
    }


def add_participant(providers: ProviderState, viewing_id, slot_id, body, path):
    # The contract's own rules (names, types, lengths), then rules Vitec's pages do not
    # state and the sandbox assumes; ModelState keys as ASP.NET names them (docs/vitec.md).
    model_state = {
        f"participant.{violation.field}": [violation.reason]
        for violation in CONTRACT.violations("participant", body)
    }
    person = body.get("updatePerson") if isinstance(body, dict) else None
    if not isinstance(person, dict):
        model_state["participant.UpdatePerson"] = ["UpdatePerson is required."]
        person = {}
    for name in ("firstName", "lastName"):
        if not str(person.get(name) or "").strip():
            model_state[f"participant.UpdatePerson.{name[0].upper()}{name[1:]}"] = ["Required."]
    email = str((person.get("email") or {}).get("emailAddress") or "")
    if email and not EMAIL.match(email):
        model_state["participant.UpdatePerson.Email.EmailAddress"] = ["Invalid email."]
    phone = str(person.get("cellPhone") or "")
    if phone and not E164.match(phone):
        model_state["participant.UpdatePerson.CellPhone"] = ["Invalid phone number."]
    if not email and not phone:
        model_state["participant.UpdatePerson"] = ["Email or cell phone is required."]
    if model_state:
        return HTTPStatus.BAD_REQUEST, {**INVALID, "ModelState": model_state}
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
            **INVALID,
            "ModelState": {"BookingLimit": ["Visningstillfället är fullbokat."]},
        }
    return HTTPStatus.OK, booking_id if body.get("returnBookingId") else ""
