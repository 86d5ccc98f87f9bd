"""The MSPECS webhook receiver (docs/mspecs.md, "Webhooks"), one address per agency:
`POST /webhooks/mspecs/<agency slug>/`.

A call is accepted only with a valid `x-mspecs-signature: t=<unix>,s=<hex>` (HMAC-SHA256
with the agency's webhook secret over `t + "." + rawBody`, compared in constant time) whose
timestamp is at most WEBHOOK_MAX_AGE_SECONDS away (a replay is refused): 401 otherwise.
The event is stored before the answer (2xx only once stored), an event id seen before is
answered 200 and not processed again, and the sync runs on the worker
(`tasks.process_webhook_event`), never in the request. The body's viewings are not trusted:
the worker re-reads the deal with the agency's credential.
"""

import hashlib
import hmac
import json
import time
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from agencies.models import Agency
from agencies.validators import validate_provider_id
from bookings.models import Viewing, WebhookEvent
from bookings.providers import systems_with
from bookings.viewing_import.sync import Source, sync_sources

SIGNATURE_HEADER = "x-mspecs-signature"
VIEWING_EVENT = "VIEWING"
MAX_ID_LENGTH = 200


def refuse(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def signed_timestamp(header: str, body: bytes, secret: str) -> int | None:
    """The header's timestamp if its signature over the body is right, else None."""
    fields = dict(part.strip().partition("=")[::2] for part in header.split(","))
    timestamp, signature = fields.get("t", ""), fields.get("s", "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return None
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), signature.strip().lower()):
        return None
    return int(timestamp)


def event_text(value, max_length: int = MAX_ID_LENGTH) -> str | None:
    """An id or type from the body: text (or a whole number) that fits and prints."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value)
    return text if text and len(text) <= max_length and text.isprintable() else None


@csrf_exempt
@require_POST
def mspecs_webhook(request, agency_slug: str):
    agency = (
        Agency.objects.filter(
            slug=agency_slug, broker_system__in=systems_with("sends_webhooks"), is_active=True
        )
        .select_related("credential")
        .first()
    )
    secret = (
        agency and getattr(agency, "credential", None) and agency.credential.mspecs_webhook_secret
    )
    if not secret:
        return refuse(404, "No webhook at this address.")
    body = request.body
    timestamp = signed_timestamp(request.headers.get(SIGNATURE_HEADER, ""), body, secret)
    if timestamp is None:
        return refuse(401, "Missing or invalid signature.")
    if abs(time.time() - timestamp) > settings.WEBHOOK_MAX_AGE_SECONDS:
        return refuse(401, "The signature's timestamp is too old (or in the future).")
    try:
        event = json.loads(body)
    except ValueError:
        return refuse(400, "The body is not JSON.")
    if not isinstance(event, dict):
        return refuse(400, "The body is not a JSON object.")
    event_id = event_text(event.get("id"))
    event_type = event_text(event.get("eventType"), 40)
    if event_id is None or event_type is None:
        return refuse(400, "An event needs an id and an eventType.")
    deal_id = ""
    if event_type == VIEWING_EVENT:
        deal_id = event_text(event.get("dealId")) or ""
        try:
            validate_provider_id(deal_id)
        except ValidationError:
            deal_id = ""
        if not deal_id:
            return refuse(400, "A VIEWING event needs the dealId.")
    stored, created = store_event(agency, event_id, event_type, deal_id, event)
    if created and event_type == VIEWING_EVENT:
        transaction.on_commit(partial(enqueue_processing, stored.pk))
    return JsonResponse({"received": True, "duplicate": not created})


def store_event(agency, event_id, event_type, deal_id, payload) -> tuple[WebhookEvent, bool]:
    """The event, stored once per agency and event id (also when two copies arrive at once)."""
    defaults = {"event_type": event_type, "source_id": deal_id, "payload": payload}
    try:
        with transaction.atomic():
            return WebhookEvent.objects.get_or_create(
                agency=agency, event_id=event_id, defaults=defaults
            )
    except IntegrityError:  # the other copy won
        return WebhookEvent.objects.get(agency=agency, event_id=event_id), False


def enqueue_processing(event_pk: int) -> None:
    from bookings.tasks import process_webhook_event  # the tasks module imports this one

    process_webhook_event.enqueue(event_pk)


def process_event(event_pk: int) -> str:
    """Sync the deal a stored VIEWING event names, if the agency imported it; mark the
    event processed either way. An event processed before is left alone."""
    claimed = WebhookEvent.objects.filter(pk=event_pk, processed_at__isnull=True).update(
        processed_at=timezone.now()
    )
    if not claimed:
        return "already processed"
    event = WebhookEvent.objects.get(pk=event_pk)
    imported = Viewing.objects.filter(agency=event.agency_id, source_id=event.source_id)
    if event.event_type != VIEWING_EVENT or not imported.exists():
        return "nothing to sync"
    summary = sync_sources([Source(event.agency_id, event.source_id)])
    if summary.errors:
        # What went wrong is on the deal's viewings (sync_problem); the event keeps it too.
        problem = imported.filter(sync_problem__isnull=False).values_list("sync_problem", flat=True)
        WebhookEvent.objects.filter(pk=event_pk).update(problem=problem.first())
    return str(summary)
