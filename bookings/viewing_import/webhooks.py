"""The MSPECS webhook receiver (docs/mspecs.md, "Webhooks"): `POST /webhooks/mspecs/`, one
address for every agency, as MSPECS posts every subscriber's events to the provider
account's one address and signs them with its one secret (MSPECS_WEBHOOK_SECRET).

A call is refused, and nothing stored, when: no secret is set (404); the body is over
MAX_BODY_BYTES (413, told by Content-Length before anything is read); the signature
`x-mspecs-signature: t=<unix>,s=<hex>` (HMAC-SHA256 over "t.rawBody") is missing, wrong
or more than WEBHOOK_MAX_AGE_SECONDS from now (401, before the body is looked at, so the
answer is the same whatever subscriber it names); the body is not JSON, nested deeper than
MAX_DEPTH, not an event of the contract (400, naming the field) or its dealId cannot name
one deal in a URL (agencies/validators.py); no agency has its `subscriberId` (404).
An event is then stored with only what we act on (never the
`accessToken` MSPECS still sends) before the 200; the same delivery again (same signed
timestamp and body) is answered 200 and not stored twice. The worker acts on it
(`process_webhook_event`): PUBLISH and VIEWING re-read the deal, UN_PUBLISH closes its
viewings; only deals the agency imported. BIDDING and REFERRAL are answered and not kept.
"""

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.tasks import task
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from agencies.models import Agency
from agencies.validators import validate_provider_id
from bookings.after_commit import enqueue_after_commit
from bookings.models import Viewing, WebhookEvent
from bookings.providers import PLUGINS
from bookings.providers.mspecs.schemas import CONTRACT
from bookings.viewing_import.sync import Source, apply_source, sync_sources

SIGNATURE_HEADER = "x-mspecs-signature"
# An event is a few hundred bytes; a VIEWING event carries the deal's viewings too.
MAX_BODY_BYTES = 64 * 1024
# The deepest an event goes is eventData.viewings[].slots[] and its fields.
MAX_DEPTH = 16
# What the worker does for each event type (docs/mspecs.md, "Webhooks"); the others
# (BIDDING, REFERRAL) concern nothing we keep.
RE_READ_EVENTS = {"PUBLISH", "VIEWING"}
CLOSE_EVENTS = {"UN_PUBLISH"}


def refuse(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def signed_timestamp(header: str, body: bytes, secret: str) -> int | None:
    """The header's timestamp if it is `t=<unix>,s=<hex>` and the hex is the HMAC-SHA256
    of "t.body" with `secret` (compared in constant time); None otherwise."""
    fields = [part.strip().partition("=") for part in header.split(",")]
    values = {name: value for name, _, value in fields}
    if len(fields) != 2 or set(values) != {"t", "s"}:
        return None
    timestamp, signature = values["t"], values["s"]
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return None
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), signature.lower()):
        return None
    return int(timestamp)


def read_body(request) -> bytes | None:
    """The raw body, or None when it is over MAX_BODY_BYTES: a declared length is checked
    before reading, and no more than one byte past the cap is ever read."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return None
    body = request.read(MAX_BODY_BYTES + 1)
    return None if len(body) > MAX_BODY_BYTES else body


def refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def depth(value) -> int:
    """How deeply arrays and objects nest in parsed JSON (a scalar: 0)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in item)
    return deepest


@csrf_exempt
@require_POST
def mspecs_webhook(request):
    secret = settings.MSPECS_WEBHOOK_SECRET
    if not secret:
        return refuse(404, "No webhook at this address.")
    body = read_body(request)
    if body is None:
        return refuse(413, f"The body is over {MAX_BODY_BYTES} bytes.")
    timestamp = signed_timestamp(request.headers.get(SIGNATURE_HEADER, ""), body, secret)
    if timestamp is None:
        return refuse(401, "Missing or invalid signature.")
    if abs(time.time() - timestamp) > settings.WEBHOOK_MAX_AGE_SECONDS:
        return refuse(401, "The signature's timestamp is too old (or in the future).")
    try:
        event = json.loads(body, parse_constant=refuse_constant)
    except (ValueError, RecursionError):
        return refuse(400, "The body is not JSON.")
    if depth(event) > MAX_DEPTH:
        return refuse(400, f"The body nests deeper than {MAX_DEPTH} levels.")
    if violations := CONTRACT.violations("webhook_event", event):
        return refuse(400, f"Not an MSPECS event: {violations[0]}")
    try:
        validate_provider_id(event.get("dealId", ""))
    except ValidationError:
        return refuse(400, "Not an MSPECS event: dealId is not a deal id.")
    agencies = list(agencies_subscribed(event["subscriberId"]))
    if not agencies:
        return refuse(404, "No agency has this subscriberId.")
    event_type = event["eventType"]
    if event_type not in RE_READ_EVENTS | CLOSE_EVENTS:
        return JsonResponse({"received": True, "duplicate": False})
    signed_at = datetime.fromtimestamp(timestamp, UTC)
    body_sha256 = hashlib.sha256(body).hexdigest()
    created = [
        store_event(agency, event_type, event["dealId"], signed_at, body_sha256)
        for agency in agencies
    ]
    for stored in filter(None, created):
        enqueue_after_commit(process_webhook_event, stored.pk)
    return JsonResponse({"received": True, "duplicate": not any(created)})


def agencies_subscribed(subscriber_id: str):
    """The active agencies whose credential names this subscriber, among the providers
    that push events (MSPECS)."""
    systems = [system for system, plugin in PLUGINS.items() if plugin.pushes_source_events]
    return Agency.objects.filter(
        is_active=True,
        provider__in=systems,
        credential__mspecs_subscriber_id=subscriber_id,
    )


def store_event(agency, event_type, deal_id, signed_at, body_sha256) -> WebhookEvent | None:
    """The event, stored once per agency and delivery; None when it was stored before
    (also when two copies arrive at once)."""
    try:
        with transaction.atomic():
            return WebhookEvent.objects.create(
                agency=agency,
                event_type=event_type,
                source_id=deal_id,
                signed_at=signed_at,
                body_sha256=body_sha256,
            )
    except IntegrityError:  # this delivery is stored already
        return None


@task()
def process_webhook_event(event_pk: int) -> str:
    """Act on a stored event (process_event), from the worker."""
    return process_event(event_pk)


def process_event(event_pk: int) -> str:
    """Act on a stored event and on every other event of its deal still waiting: one read
    answers them all, so a burst of events costs one sync per deal. The latest of them
    decides: UN_PUBLISH closes the deal's viewings and sets their waiting bookings aside (as
    a deal's removed viewings are, bookings/viewing_import/sync.py); PUBLISH and VIEWING
    read the deal again. Deals the agency never imported are left alone."""
    event = WebhookEvent.objects.select_related("agency").filter(pk=event_pk).first()
    if event is None or event.processed_at is not None:
        return "already processed"
    waiting = WebhookEvent.objects.unprocessed().filter(
        agency=event.agency_id, source_id=event.source_id
    )
    events = list(waiting.order_by("signed_at", "pk"))
    claimed = waiting.filter(pk__in=[e.pk for e in events]).update(processed_at=timezone.now())
    if not claimed:
        return "already processed"
    agency, deal_id = event.agency, event.source_id
    imported = Viewing.objects.filter(agency=agency, source_id=deal_id)
    if not imported.exists():
        return "not imported"
    if events[-1].event_type in CLOSE_EVENTS:
        closed = apply_source(agency, deal_id, [])
        return f"closed: {len(closed.changes)} changes"
    summary = sync_sources([Source(agency.pk, deal_id)])
    if summary.errors:
        # What went wrong is on the deal's viewings (sync_problem); the events keep it too.
        problem = imported.filter(sync_problem__isnull=False).values_list("sync_problem", flat=True)
        WebhookEvent.objects.filter(pk__in=[e.pk for e in events]).update(problem=problem.first())
    return str(summary)
