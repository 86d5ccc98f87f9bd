"""Fixed-window rate limits kept in Django's cache (shared by all web processes when
CACHE_URL points at a shared cache)."""

import time

from django.core.cache import cache


def over_limit(scope: str, limit: int, window: int = 60) -> int | None:
    """Count one hit against `scope`; return the seconds until the window resets if the
    limit is exceeded, else None. A limit of 0 turns the check off."""
    if limit <= 0:
        return None
    window_start = int(time.time()) // window * window
    key = f"ratelimit:{scope}:{window_start}"
    # add() is atomic, so concurrent first hits cannot both reset the counter.
    if cache.add(key, 1, timeout=window + 1):
        hits = 1
    else:
        try:
            hits = cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.set(key, 1, timeout=window + 1)
            hits = 1
    if hits > limit:
        return max(1, window_start + window - int(time.time()))
    return None
