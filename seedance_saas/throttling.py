"""Per-API-key rate limits (a write rate and a read rate, overridable per organization)."""

from __future__ import annotations

import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from seedance_saas.cache_counters import incr_expiring
from seedance_saas.client_ip import client_ip
from seedance_saas.dependencies import DEPENDENCY_ERRORS
from seedance_saas.ratelimit_fields import Budget

logger = logging.getLogger(__name__)

WINDOW_S = 60
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# After the cache fails, this process stops asking it for a while: no connect timeout on every request.
CACHE_DOWN_RETRY_S = 5.0
_cache_down_until = 0.0


def rates_for(organization) -> tuple[int, int]:
    """(writes, reads) per minute per key for this organization."""
    create = getattr(organization, "api_create_rate_per_minute", None) or settings.API_CREATE_RATE_PER_MINUTE
    read = getattr(organization, "api_read_rate_per_minute", None) or settings.API_READ_RATE_PER_MINUTE
    return create, read


class ApiKeyRateThrottle(BaseThrottle):
    """A fixed one-minute window counted in the shared cache, per key and per kind of request.

    A fixed window is one cache increment per request (the sliding-window history DRF
    keeps would rewrite a list of 600 timestamps on every read); the cache is shared by
    every web process (database or Redis), so the limit holds across a fleet.
    """

    def allow_request(self, request, view) -> bool:
        """Counts this call; leaves the caller's budgets on `request.rate_limit` for the rate-limit fields."""
        api_key = request.auth
        write = request.method in WRITE_METHODS
        now = time.time()
        window = int(now // WINDOW_S)
        self.wait_s = (window + 1) * WINDOW_S - now
        reset_s = max(1, math.ceil(self.wait_s))
        if api_key is None:
            limit = settings.API_ANONYMOUS_RATE_PER_MINUTE
            count = _count_or_none(f"throttle:{'w' if write else 'r'}:ip:{self.get_ident(request)}:{window}")
            budgets = [] if count is None else [Budget("anonymous", limit, max(0, limit - count), WINDOW_S, reset_s)]
        else:
            create, read = rates_for(api_key.organization)
            limit = create if write else read
            who = f"key:{api_key.pk}"
            count = _count_or_none(f"throttle:{'w' if write else 'r'}:{who}:{window}")
            # The other kind's count, read without counting, so that both budgets are on every answer.
            other = None if count is None else _peek_or_none(f"throttle:{'r' if write else 'w'}:{who}:{window}")
            if other is None:
                budgets = []
            else:
                writes_used, reads_used = (count, other) if write else (other, count)
                budgets = [
                    Budget("writes", create, max(0, create - writes_used), WINDOW_S, reset_s),
                    Budget("reads", read, max(0, read - reads_used), WINDOW_S, reset_s),
                ]
        request.rate_limit = budgets
        return count is None or count <= limit

    def get_ident(self, request) -> str:
        # DRF's own get_ident trusts any X-Forwarded-For unless NUM_PROXIES is set; ours trusts configured proxies.
        return client_ip(request)

    def wait(self) -> float:
        return self.wait_s


def _count_or_none(cache_key: str) -> int | None:
    """The window's count, or None while the cache is down: throttling fails open rather than failing every call."""
    global _cache_down_until
    if time.monotonic() < _cache_down_until:
        return None
    try:
        return _count(cache_key)
    except DEPENDENCY_ERRORS as exc:
        _cache_down_until = time.monotonic() + CACHE_DOWN_RETRY_S
        logger.warning(
            "API rate limits are not enforced: the cache is unavailable (%s: %s); trying it again in %.0f s",
            type(exc).__name__,
            exc,
            CACHE_DOWN_RETRY_S,
        )
        return None


def _peek_or_none(cache_key: str) -> int | None:
    """The window's count without adding to it (0 before its first call), or None while the cache is down."""
    global _cache_down_until
    if time.monotonic() < _cache_down_until:
        return None
    try:
        return cache.get(cache_key, 0)
    except DEPENDENCY_ERRORS as exc:
        _cache_down_until = time.monotonic() + CACHE_DOWN_RETRY_S
        logger.warning("API rate-limit fields are left out: the cache is unavailable (%s)", type(exc).__name__)
        return None


def _count(cache_key: str) -> int:
    """Adds one to this window's counter (one round trip on Redis)."""
    return incr_expiring(cache_key, timeout_s=WINDOW_S + 5)
