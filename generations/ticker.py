"""The upkeep loop every main `qcluster` node runs beside its workers, under one short lease across all nodes.

Why a loop in each node and not a chain of django-q2 tasks: a task chain lives in one worker, so SIGKILL of
that node ends the chain, and only the minute schedule could restart it (up to 90 s later). Here every node
runs the loop; one holds the lease and runs the passes, the others try to take it every second. The lease
lives `GENERATION_TICKER_LEASE_S` (5 s) and is renewed on every pass, so a killed leader's lease runs out
within seconds and a surviving node takes over. The lease only saves work: every pass is safe from several
nodes at once (claims are compare-and-set in the database), so two leaders for a moment cost nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)

LEASE_KEY = "generations:ticker-lease"


def node_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Lease:
    """A cache key holding its owner, living a few seconds; renewed by its owner, taken by anyone once expired."""

    def __init__(self, *, owner: str, ttl_s: float | None = None):
        self.owner = owner
        self.ttl_s = ttl_s if ttl_s is not None else settings.GENERATION_TICKER_LEASE_S

    def acquire_or_renew(self) -> bool:
        """True when we hold it for another `ttl_s`. Not atomic between read and touch: see the module doc."""
        timeout = max(1, round(self.ttl_s))
        if cache.add(LEASE_KEY, self.owner, timeout=timeout):
            return True
        if cache.get(LEASE_KEY) == self.owner:
            cache.touch(LEASE_KEY, timeout)
            return True
        return False

    def release(self) -> None:
        if cache.get(LEASE_KEY) == self.owner:
            cache.delete(LEASE_KEY)


def lease_holder() -> str | None:
    return cache.get(LEASE_KEY)


def run_pass(lease: Lease, *, should_stop=None) -> dict[str, int] | None:
    """One upkeep pass if we hold (or take) the lease; None when another node holds it."""
    from generations import services

    if not lease.acquire_or_renew():
        return None
    return services.upkeep_pass(should_stop=should_stop)


class Ticker(threading.Thread):
    """The loop: one pass a second while leader, a lease check a second otherwise; stops within a pass."""

    def __init__(self, *, owner: str | None = None, interval_s: float | None = None):
        super().__init__(name="generations-ticker", daemon=True)
        self.lease = Lease(owner=owner or node_name())
        self.interval_s = interval_s if interval_s is not None else settings.GENERATION_TICK_INTERVAL_S
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                started = time.monotonic()
                try:
                    close_old_connections()
                    # A stopping node submits no new job: a create cut off by the exit would end "outcome unknown".
                    run_pass(self.lease, should_stop=self.stopping.is_set)
                except Exception:  # a database or cache outage: log, wait, try again
                    logger.exception("ticker pass failed; retrying")
                    connections.close_all()
                self.stopping.wait(max(0.0, self.interval_s - (time.monotonic() - started)))
        finally:
            try:
                self.lease.release()  # hand over at once rather than after the lease runs out
            except Exception:
                logger.exception("could not release the ticker lease; it runs out by itself")
            connections.close_all()

    def stop(self, *, timeout_s: float = 8.0) -> None:
        self.stopping.set()
        self.join(timeout_s)
