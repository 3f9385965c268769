"""Queue billing's background work (inline under pytest); a leaf module so services and Stripe code share it."""

from __future__ import annotations

from django_q.tasks import async_task


def enqueue(func: str, *args) -> None:
    """Queue a billing task. Call it from transaction.on_commit, never inside a transaction."""
    async_task(func, *args, group="billing")
