"""A short cache of API keys by secret hash: a partner's read costs no SQL for its key; revocation is immediate.

Each entry is the ApiKey with its Organization, kept API_KEY_CACHE_TTL_S seconds (default 30) in the shared
cache (Redis in production). Revoking or deleting a key drops its entry at once and writes a tombstone over it
once the change commits, and a lookup only ever adds an entry (`cache.add`), never overwrites one: so a request
that read the key from the database just before the revocation committed cannot put it back over the tombstone.
Stale for up to the TTL: the organization's own fields (its rate overrides), which change rarely.
If the cache is down, lookups go to the database.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from seedance_saas.dependencies import DEPENDENCY_ERRORS

logger = logging.getLogger(__name__)

# Bump when the cached ApiKey / Organization shape changes, so old pickles are never read back after a deploy.
VERSION = 1
REVOKED = "revoked"
# `last_used_at` is written at most once a minute per key, across every process.
TOUCH_EVERY_S = 60


def _entry(secret_hash: str) -> str:
    return f"api_key:v{VERSION}:{secret_hash}"


def _ttl() -> int:
    return int(getattr(settings, "API_KEY_CACHE_TTL_S", 30))


def cached_key(secret_hash: str, *, load: Callable[[str], object | None]):
    """The active key for this hash (from the cache, else `load(secret_hash)` from the database), or None."""
    if _ttl() <= 0:
        return load(secret_hash)
    try:
        found = cache.get(_entry(secret_hash))
    except DEPENDENCY_ERRORS:
        return load(secret_hash)
    if found == REVOKED:
        return None
    if found is not None:
        return found
    key = load(secret_hash)
    if key is not None:
        with contextlib.suppress(*DEPENDENCY_ERRORS):
            cache.add(_entry(secret_hash), key, timeout=_ttl())  # never over a tombstone
    return key


def should_touch(key) -> bool:
    """True for one request a minute per key (fleet-wide), which then writes `last_used_at`."""
    try:
        return cache.add(f"api_key:v{VERSION}:touched:{key.pk}", 1, timeout=TOUCH_EVERY_S)
    except DEPENDENCY_ERRORS:
        return True


def forget(secret_hash: str) -> None:
    """Every process refuses this key on its very next request once the current transaction commits.

    The entry goes now (the next lookup reads the database, which this transaction's writer sees revoked), and a
    tombstone replaces it after commit (over anything a concurrent request cached in between). A rollback only
    costs one database lookup.
    """

    def write(value):
        try:
            if value is None:
                cache.delete(_entry(secret_hash))
            else:
                cache.set(_entry(secret_hash), value, timeout=max(_ttl(), 1) * 2)
        except DEPENDENCY_ERRORS as exc:
            # The entry (if any) lives at most API_KEY_CACHE_TTL_S more seconds.
            logger.error("Could not invalidate a revoked API key in the cache (%s)", type(exc).__name__)

    write(None)
    transaction.on_commit(lambda: write(REVOKED))


def forget_deleted(sender, instance, **kwargs) -> None:
    """post_delete receiver: a deleted key (an operator's delete, its organization's deletion) is refused at once."""
    forget(instance.secret_hash)
