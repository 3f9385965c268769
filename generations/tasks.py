"""django-q2 entry points: thin wrappers that load ids and call one service."""

from __future__ import annotations

import logging

import structlog

from generations import notifications, services, ticker

logger = logging.getLogger(__name__)


def dispatch() -> int:
    return services.dispatch_pending()


def erasure_files_delete(erasure_id: int) -> int:
    from generations import privacy

    return privacy.erasure_files_delete(erasure_id=erasure_id)


def end_user_export_build(export_id: str) -> None:
    from generations import privacy_export

    privacy_export.end_user_export_build(export_id=export_id)


def holds_sweep() -> int:
    from generations import holds

    return holds.holds_sweep()


def notify_owner(generation_id: str) -> None:
    structlog.contextvars.bind_contextvars(generation_id=generation_id)
    notifications.generation_notify_owner(generation_id=generation_id)


def notify_key_stopped(key_id: int) -> None:
    from generations.provider_key_notifications import provider_key_notify_stopped

    provider_key_notify_stopped(key_id=key_id)


def refresh(generation_id: str) -> None:
    # Bound for the rest of the task (the worker clears it after), so an error report made after the
    # exception has left the service still carries the generation's id.
    structlog.contextvars.bind_contextvars(generation_id=generation_id)
    services.generation_refresh(generation_id=generation_id)


def tick() -> int:
    """The minute schedule's safety net: one upkeep pass, unless a node's ticker holds the lease.

    The real ticker is a loop in every main `qcluster` node (generations/ticker.py); this only matters when a
    cluster was started some other way. Returns the passes run (0 or 1).
    """
    lease = ticker.Lease(owner=f"{ticker.node_name()}:schedule")
    try:
        return 0 if ticker.run_pass(lease) is None else 1
    finally:
        lease.release()
