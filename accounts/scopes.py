"""What an API key may do: the scopes, which scope implies which, and the presets (no Django imports)."""

from __future__ import annotations

from collections.abc import Iterable

GENERATIONS_READ = "generations:read"
GENERATIONS_WRITE = "generations:write"
END_USERS_READ = "end_users:read"
END_USERS = "end_users"
USAGE = "usage"
WEBHOOKS_READ = "webhooks:read"
WEBHOOKS = "webhooks"

# Every scope, in the order the key form and the docs show them, with what each allows.
SCOPES: dict[str, str] = {
    GENERATIONS_READ: "List and read generations.",
    GENERATIONS_WRITE: "Create, cancel and retry generations.",
    END_USERS_READ: "List and read end users and their usage this month.",
    END_USERS: "Everything on end users: also set spend limits and block them.",
    USAGE: "Read usage and cost over a period.",
    WEBHOOKS_READ: "List webhook endpoints (without secrets) and read deliveries.",
    WEBHOOKS: "Everything on webhooks: create, change, delete, rotate, replay, read signing secrets.",
}
# A broad scope includes its read-only part, as GitHub's `repo` includes `repo:status`.
IMPLIES: dict[str, frozenset[str]] = {END_USERS: frozenset({END_USERS_READ}), WEBHOOKS: frozenset({WEBHOOKS_READ})}
READ_ONLY: tuple[str, ...] = (GENERATIONS_READ, END_USERS_READ, USAGE, WEBHOOKS_READ)
# No scope needed: the endpoint answers without a key too (public pricing).
PUBLIC = None


def all_scopes() -> list[str]:
    """Every scope: what a new key gets unless told otherwise, and what keys made before scopes existed got."""
    return list(SCOPES)


def normalize(scopes: Iterable[str]) -> list[str]:
    """Known scopes in the canonical order, without duplicates; raises ValueError naming an unknown one."""
    wanted = set(scopes)
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise ValueError(f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(SCOPES)}.")
    return [scope for scope in SCOPES if scope in wanted]


def allows(granted: Iterable[str], needed: str | None) -> bool:
    if needed is PUBLIC:
        return True
    granted = set(granted)
    return needed in granted or any(needed in IMPLIES.get(scope, ()) for scope in granted)


def is_read_only(granted: Iterable[str]) -> bool:
    return set(granted) == set(READ_ONLY)
