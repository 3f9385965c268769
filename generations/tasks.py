"""django-q2 entry points: thin wrappers that load ids and call one service."""

from __future__ import annotations

import logging

from generations import services, ticker

logger = logging.getLogger(__name__)


def dispatch() -> int:
    return services.dispatch_pending()


def holds_sweep() -> int:
    from generations import holds

    return holds.holds_sweep()


def refresh(generation_id: str) -> None:
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
