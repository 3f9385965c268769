"""The IETF rate-limit fields (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy` and `RateLimit`.

Structured-field lists, one member per budget, e.g.
    RateLimit-Policy: "writes";q=60;w=60, "reads";q=600;w=60, "generations";q=10;qu="concurrent-requests"
    RateLimit: "writes";r=57;t=12, "reads";r=600;t=12, "generations";r=8
The throttle (seedance_saas/throttling.py) supplies the per-minute budgets; the concurrency budget comes from
whichever app registers it (generations, below which this kernel sits).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from seedance_saas.dependencies import DEPENDENCY_ERRORS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Budget:
    name: str
    quota: int
    remaining: int
    window_s: int | None = None  # None for a concurrency budget: it has no window
    reset_s: int | None = None
    unit: str | None = None  # the draft's `qu`; None means its default, "requests"


# organization -> (quota, in use); registered by the app that owns the counted objects.
_concurrency: tuple[str, Callable[[object], tuple[int, int]]] | None = None


def register_concurrency(name: str, counter: Callable[[object], tuple[int, int]]) -> None:
    global _concurrency
    _concurrency = (name, counter)


def concurrency_budgets(organization) -> list[Budget]:
    """The organization's concurrency budget, or none while it cannot be counted (database down)."""
    if _concurrency is None or organization is None:
        return []
    name, counter = _concurrency
    try:
        quota, in_use = counter(organization)
    except DEPENDENCY_ERRORS as exc:
        logger.warning("the concurrency budget is left out of the rate-limit fields: %s", type(exc).__name__)
        return []
    return [Budget(name, quota, max(0, quota - in_use), unit="concurrent-requests")]


def header_fields(budgets: list[Budget]) -> dict[str, str]:
    """The two fields for these budgets; none at all when no budget is known (the cache is down)."""
    if not budgets:
        return {}
    policies, states = [], []
    for budget in budgets:
        policy = f'"{budget.name}";q={budget.quota}'
        if budget.unit:
            policy += f';qu="{budget.unit}"'
        if budget.window_s is not None:
            policy += f";w={budget.window_s}"
        state = f'"{budget.name}";r={budget.remaining}'
        if budget.reset_s is not None:
            state += f";t={budget.reset_s}"
        policies.append(policy)
        states.append(state)
    return {"RateLimit-Policy": ", ".join(policies), "RateLimit": ", ".join(states)}
