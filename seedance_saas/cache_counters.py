"""Counters in the shared cache that expire on their own: one round trip on Redis, the portable way elsewhere."""

from __future__ import annotations

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


def incr_expiring(cache_key: str, *, timeout_s: int) -> int:
    """Adds one to the counter and returns it; the counter goes `timeout_s` after its last increment.

    Django's own `incr` on Redis costs two round trips (EXISTS, then INCR) and a third for the first one (ADD);
    INCR and EXPIRE pipelined are one. Django's Redis serializer stores integers as plain Redis integers, so
    `cache.get` reads the same counter back.
    """
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        key = cache.make_and_validate_key(cache_key)
        client = cache._cache.get_client(key, write=True)
        pipe = client.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, timeout_s)
        count, _ = pipe.execute()
        return int(count)
    try:
        return cache.incr(cache_key)
    except ValueError:  # the counter's first increment
        if cache.add(cache_key, 1, timeout=timeout_s):
            return 1
        return cache.incr(cache_key)  # another process added it first
