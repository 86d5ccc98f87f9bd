"""The MSPECS webhook receiver (docs/mspecs.md, "Webhooks"): `POST /webhooks/mspecs/`, one
address for every agency, as MSPECS posts every subscriber's events to the provider
account's one address and signs them with its one secret (MSPECS_WEBHOOK_SECRET).

A call is refused, and nothing stored, when: no secret is set (404); the body is over
MAX_BODY_BYTES (413, told by Content-Length before anything is read, and before the
signature is checked); the signature `x-mspecs-signature: t=<unix>,s=<hex>` (HMAC-SHA256
over "t.rawBody") is missing, wrong or more than WEBHOOK_MAX_AGE_SECONDS from now (401,
before the body is looked at or the database asked, so the answer is the same whatever
subscriber it names); the body nests deeper than MAX_DEPTH (400, told by a scan of the raw
bytes before it is parsed), is not JSON, not an event of the contract (400, naming the
field) or its dealId cannot name one deal in a URL (agencies/validators.py); no agency
has its `subscriberId` (404).
An event is then stored with only what we act on (never the body, nor the `accessToken`
MSPECS still sends) before the 200; the same delivery again (same signed timestamp and
body) is answered 200 and not stored twice. A deal has at most one event waiting for the
worker: another event of that deal meanwhile is coalesced into it and enqueues nothing.
The worker acts on it (`process_event`): PUBLISH and VIEWING re-read the deal, UN_PUBLISH
closes its viewings; only deals the agency imported; one read of a deal at a time, and
an event that arrived during the read is acted on once, right after it.
BIDDING and REFERRAL are answered and not kept.
"""

import hashlib
import hmac
import json
import re
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
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
# A JSON string (an unterminated one runs to the end, so each byte is scanned once).
JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+"?', re.DOTALL)
NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
# An event waiting this long lost its wake-up, or a read running this long its worker: the
# deal's next event wakes the worker again, and such a read holds the deal back no more.
LOST_AFTER = timedelta(minutes=10)
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


def nesting(body: bytes) -> int:
    """How deeply arrays and objects nest in raw JSON, brackets inside strings not counted:
    one pass over the bytes, so a body too deep is refused before anything parses it."""
    brackets = JSON_STRING.sub(b"", body).translate(None, NOT_BRACKETS)
    deepest = level = 0
    for byte in brackets:
        level += 1 if byte in b"[{" else -1
        deepest = max(deepest, level)
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
    if nesting(body) > MAX_DEPTH:
        return refuse(400, f"The body nests deeper than {MAX_DEPTH} levels.")
    try:
        event = json.loads(body, parse_constant=refuse_constant)
    except ValueError:
        return refuse(400, "The body is not JSON.")
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
    stored = [
        store_event(agency, event_type, event["dealId"], signed_at, body_sha256)
        for agency in agencies
    ]
    return JsonResponse({"received": True, "duplicate": not any(stored)})


def agencies_subscribed(subscriber_id: str):
    """The active agencies whose credential names this subscriber, among the providers
    that push events (MSPECS)."""
    systems = [system for system, plugin in PLUGINS.items() if plugin.pushes_source_events]
    return Agency.objects.filter(
        is_active=True,
        provider__in=systems,
        credential__mspecs_subscriber_id=subscriber_id,
    )


def store_event(agency, event_type, deal_id, signed_at, body_sha256) -> bool:
    """Record a delivery for the agency (record_delivery); False when it was recorded
    before."""
    try:
        return record_delivery(agency, event_type, deal_id, signed_at, body_sha256)
    except IntegrityError:  # the same delivery, or the deal's waiting event, stored meanwhile
        return record_delivery(agency, event_type, deal_id, signed_at, body_sha256)


@transaction.atomic
def record_delivery(agency, event_type, deal_id, signed_at, body_sha256) -> bool:
    """The deal's waiting event takes the delivery (enqueuing nothing, unless its wake-up
    looks lost), or a new event is stored and the worker woken; False when this delivery
    was recorded before."""
    events = WebhookEvent.objects.filter(agency=agency)
    if events.filter(signed_at=signed_at, body_sha256=body_sha256).exists():
        return False
    now = timezone.now()
    waiting = events.pending().select_for_update().filter(source_id=deal_id).first()
    if waiting is None:
        waiting = events.create(
            agency=agency,
            event_type=event_type,
            source_id=deal_id,
            signed_at=signed_at,
            body_sha256=body_sha256,
            received_at=now,
            woken_at=now,
        )
        wake = True
    else:
        waiting.coalesce(event_type, signed_at, body_sha256)
        wake = waiting.woken_at <= now - LOST_AFTER
        if wake:
            waiting.woken_at = now
        waiting.save(
            update_fields=["event_type", "signed_at", "body_sha256", "deliveries", "woken_at"]
        )
    if wake:
        enqueue_after_commit(process_webhook_event, waiting.pk)
    return True


@task()
def process_webhook_event(event_pk: int) -> str:
    """Act on a stored event (process_event), from the worker."""
    return process_event(event_pk)


def process_event(event_pk: int) -> str:
    """Act on a stored event, then on the event of its deal that arrived during the read,
    if one did: a deal is read by one worker at a time, and an event arriving while it is
    read makes exactly one more read, after it."""
    event = claim(WebhookEvent.objects.filter(pk=event_pk))
    if event is None:
        return "already processed, or next after the deal's running read"
    done = []
    while event is not None:
        done.append(act_on(event))
        event = claim(
            WebhookEvent.objects.filter(agency=event.agency_id, source_id=event.source_id)
        )
    return "; ".join(done)


def claim(events) -> WebhookEvent | None:
    """The first of `events` still waiting, taken by this worker; None when there is none,
    or while a read of its deal runs (whose worker takes it once that read is done)."""
    now = timezone.now()
    running = WebhookEvent.objects.filter(
        agency=OuterRef("agency"),
        source_id=OuterRef("source_id"),
        started_at__gt=now - LOST_AFTER,
        processed_at__isnull=True,
    )
    pk = events.pending().values_list("pk", flat=True).first()
    taken = WebhookEvent.objects.pending().filter(pk=pk).exclude(Exists(running))
    if pk is None or not taken.update(started_at=now):
        return None
    return WebhookEvent.objects.select_related("agency").get(pk=pk)


def act_on(event: WebhookEvent) -> str:
    """UN_PUBLISH closes the deal's viewings and sets their waiting bookings aside (as a
    deal's removed viewings are, bookings/viewing_import/sync.py); PUBLISH and VIEWING read
    the deal again. Deals the agency never imported are left alone. The event is marked
    processed, with what went wrong if the read failed."""
    agency, deal_id = event.agency, event.source_id
    imported = Viewing.objects.filter(agency=agency, source_id=deal_id)
    problem = None
    if not imported.exists():
        outcome = "not imported"
    elif event.event_type in CLOSE_EVENTS:
        outcome = f"closed: {len(apply_source(agency, deal_id, []).changes)} changes"
    else:
        summary = sync_sources([Source(agency.pk, deal_id)])
        outcome = str(summary)
        if summary.errors:
            # What went wrong is on the deal's viewings (sync_problem); the event keeps it too.
            problems = imported.filter(sync_problem__isnull=False)
            problem = problems.values_list("sync_problem", flat=True).first()
    WebhookEvent.objects.filter(pk=event.pk).update(processed_at=timezone.now(), problem=problem)
    return outcome
