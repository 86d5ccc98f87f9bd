"""GET /healthz (for anyone: no personal data) and GET /metrics (for the scraper only)."""

import hmac
import ipaddress

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseForbidden, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bookings.client_address import client_address
from bookings.monitoring import health
from bookings.monitoring.metrics import registry


@require_GET
@never_cache
def healthz(request):
    result = health.check()
    return JsonResponse(result.as_json(), status=200 if result.ok else 503)


@require_GET
@never_cache
def metrics(request):
    if not settings.METRICS_TOKEN and not settings.METRICS_ALLOWED_ADDRESSES:
        raise Http404("Metrics are off: set METRICS_TOKEN or METRICS_ALLOWED_ADDRESSES.")
    if not (bearer_token_matches(request) or address_allowed(request)):
        return HttpResponseForbidden()
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def bearer_token_matches(request) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return bool(
        settings.METRICS_TOKEN
        and scheme.lower() == "bearer"
        and hmac.compare_digest(token.strip().encode(), settings.METRICS_TOKEN.encode())
    )


def address_allowed(request) -> bool:
    """The client's address as far as TRUSTED_PROXY_COUNT trusts X-Forwarded-For: behind a
    proxy REMOTE_ADDR is the proxy's, which would let every client in."""
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(allowed, strict=False)
        for allowed in settings.METRICS_ALLOWED_ADDRESSES
    )
