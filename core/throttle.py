"""A small fixed-window rate limit on Django's cache (Redis), shared by every web process."""

from __future__ import annotations

import time

from django.core.cache import cache
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    # Behind a load balancer REMOTE_ADDR is the proxy's address unless the deployment passes the client's
    # (nginx speaking uWSGI's own protocol to it does), rather than us trusting a spoofable header here.
    return request.META.get("REMOTE_ADDR") or "unknown"


def allow(*, key: str, limit: int, window_seconds: int) -> bool:
    """Count one hit on ``key``; ``False`` once more than ``limit`` hits fall in the window that the
    first hit opened."""
    cache_key = f"throttle:{key}"
    cache.add(cache_key, 0, timeout=window_seconds)
    try:
        hits = cache.incr(cache_key)
    except ValueError:  # expired between add and incr: this hit opens a new window
        cache.set(cache_key, 1, timeout=window_seconds)
        hits = 1
    return hits <= limit


def reset(*, key: str) -> None:
    cache.delete(f"throttle:{key}")


def allow_in_window(*, key: str, limit: int, window_seconds: int, now: float | None = None) -> tuple[bool, int]:
    """Count one hit on ``key`` in the current window of the clock (windows start at multiples of
    ``window_seconds``); return whether it is within ``limit``, and the seconds until the window ends (what
    a ``Retry-After`` says)."""
    now = time.time() if now is None else now
    window = int(now // window_seconds)
    cache_key = f"throttle:{key}:{window}"
    cache.add(cache_key, 0, timeout=window_seconds + 1)
    hits = cache.incr(cache_key)
    return hits <= limit, max(1, (window + 1) * window_seconds - int(now))
