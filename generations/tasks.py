"""django-q2 entry points: thin wrappers that load ids and call one service."""

from __future__ import annotations

import logging
import secrets
import time

import structlog
from django.conf import settings
from django.core.cache import cache
from django_q.tasks import async_task

from generations import notifications, services

logger = logging.getLogger(__name__)

TICKER_LOCK = "generations:ticker"
TICKER_STARTING = "generations:ticker-starting"


def dispatch() -> int:
    ensure_ticker()
    return services.dispatch_pending()


def ensure_ticker() -> None:
    """Start the ticker chain now if none runs, rather than at the next scheduler round (up to 90 s away)."""
    if settings.Q_CLUSTER.get("sync") or cache.get(TICKER_LOCK) is not None:
        return
    if cache.add(TICKER_STARTING, True, timeout=30):
        async_task("generations.tasks.tick", task_name="tick")


def holds_sweep() -> int:
    from generations import holds

    return holds.holds_sweep()


def notify_owner(generation_id: str) -> None:
    structlog.contextvars.bind_contextvars(generation_id=generation_id)
    notifications.generation_notify_owner(generation_id=generation_id)


def refresh(generation_id: str) -> None:
    # Bound for the rest of the task (the worker clears it after), so an error report made after the
    # exception has left the service still carries the generation's id.
    structlog.contextvars.bind_contextvars(generation_id=generation_id)
    services.generation_refresh(generation_id=generation_id)


def tick(window_s: float | None = None) -> int:
    """Run upkeep passes for about a minute, then hand over to the next ticker.

    django-q2 schedules fire at most once a minute (checked every 30 s), but polling
    needs seconds: so each ticker enqueues its successor, and the minute schedule only
    restarts the chain when a worker died. One ticker at a time holds a cache lock; a
    second one exits at once.
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
    if window_s > 0 and not settings.Q_CLUSTER.get("sync"):
        async_task("generations.tasks.tick", task_name="tick")
    return passes
