"""The address a request came from, as far as the operator trusts the proxies in front.

Behind a proxy every request's REMOTE_ADDR is the proxy's, so the sign-in lock-out
(django-axes, AXES_CLIENT_IP_CALLABLE), the booking page's rate limit, /metrics' allowed
addresses and the logs would see one client. Each proxy appends the address it was
reached from to X-Forwarded-For; everything left of what our own proxies wrote is
whatever the client sent. So with TRUSTED_PROXY_COUNT = N the client is the Nth address
from the right, and with 0 (a client reaches gunicorn directly) the header is ignored
(docs/deploy/README.md)."""

import ipaddress

from django.conf import settings


def client_address(request) -> str:
    """The client's address: the TRUSTED_PROXY_COUNT-th entry of X-Forwarded-For from the
    right, normalised; REMOTE_ADDR when no proxy is trusted or that entry is missing or
    not an address."""
    remote_addr = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote_addr
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    if len(forwarded) < count:
        return remote_addr
    try:
        return str(ipaddress.ip_address(forwarded[-count].strip()))
    except ValueError:
        return remote_addr
