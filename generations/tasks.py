"""django-q2 entry points: thin wrappers that load ids and call one service."""

from __future__ import annotations

import logging
import secrets
import time

from django.conf import settings
from django.core.cache import cache

from generations import services

logger = logging.getLogger(__name__)

TICKER_LOCK = "generations:ticker"


def dispatch() -> int:
    return services.dispatch_pending()


def refresh(generation_id: str) -> None:
    services.generation_refresh(generation_id=generation_id)


def publish_terminal_event(generation_id: str) -> None:
    services.generation_publish_terminal_event(generation_id=generation_id)


def tick(window_s: float | None = None) -> int:
    """Run upkeep passes for about a minute (the schedule starts one every minute).

    django-q2 schedules fire at most once a minute, but polling needs seconds; one
    ticker at a time holds a cache lock, and a second one exits at once.
    """
    window_s = settings.GENERATION_TICK_WINDOW_S if window_s is None else window_s
    token = secrets.token_hex(8)
    if not cache.add(TICKER_LOCK, token, timeout=int(window_s) + 30):
        return 0
    passes = 0
    deadline = time.monotonic() + window_s
    try:
        while True:
            services.upkeep_pass()
            passes += 1
            if time.monotonic() >= deadline:
                break
            time.sleep(settings.GENERATION_TICK_INTERVAL_S)
    finally:
        if cache.get(TICKER_LOCK) == token:
            cache.delete(TICKER_LOCK)
    return passes
