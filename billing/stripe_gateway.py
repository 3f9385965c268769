"""The one door to Stripe: a configured StripeClient, retries with backoff, and how to read Stripe's answers."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import stripe
from django.conf import settings

T = TypeVar("T")

# Stripe answers a meter event whose identifier it has already seen (within at least 24 h) with a 400
# invalid_request_error, code `duplicate_meter_event` and Stripe-Should-Retry: false. The English message is not a
# contract; the code is.
DUPLICATE_METER_EVENT = "duplicate_meter_event"

_lock = threading.Lock()
_clients: dict[tuple, stripe.StripeClient] = {}


class StripeNotConfigured(Exception):
    pass


def configured() -> bool:
    return bool(settings.STRIPE_API_KEY)


def client() -> stripe.StripeClient:
    """A StripeClient for the current settings (cached; one connection pool per configuration)."""
    if not configured():
        raise StripeNotConfigured("STRIPE_API_KEY is not set: billing runs in ledger-only mode.")
    base = settings.STRIPE_API_BASE.rstrip("/")
    timeout = float(getattr(settings, "STRIPE_TIMEOUT_S", 20.0))
    key = (settings.STRIPE_API_KEY, base, timeout)
    with _lock:
        if key not in _clients:
            addresses = {"api": base, "meter_events": base, "files": base, "connect": base} if base else None
            _clients[key] = stripe.StripeClient(
                settings.STRIPE_API_KEY,
                base_addresses=addresses,
                # Our own retry loop below owns retries, so the SDK must not add its own.
                max_network_retries=0,
                http_client=stripe.RequestsClient(timeout=timeout),
            )
        return _clients[key]


def is_duplicate_identifier(exc: Exception) -> bool:
    """Stripe already holds a meter event with this identifier: for us, that means delivered."""
    if not isinstance(exc, stripe.InvalidRequestError) or exc.http_status != 400:
        return False
    return (exc.code or getattr(exc.error, "code", None)) == DUPLICATE_METER_EVENT


def is_retryable(exc: Exception) -> bool:
    """Network trouble, 409 (lock contention), 429 and 5xx are worth another try; other answers are final."""
    if isinstance(exc, stripe.APIConnectionError):
        return True
    if isinstance(exc, stripe.StripeError):
        status = exc.http_status
        return status is None or status == 409 or status == 429 or status >= 500
    return False


def describe(exc: Exception) -> str:
    if isinstance(exc, stripe.StripeError):
        code = getattr(exc, "code", None) or ""
        return f"{exc.http_status or 'network'} {type(exc).__name__} {code}: {exc.user_message or exc}".strip()[:1000]
    return f"{type(exc).__name__}: {exc}"[:1000]


def call(fn: Callable[[], T], *, tries: int | None = None) -> T:
    """Run one Stripe request, retrying retryable failures with jittered exponential backoff.

    The caller passes the same idempotency key on every try, so a retry can never do the work twice.
    """
    tries = tries or int(getattr(settings, "STRIPE_MAX_TRIES", 3))
    base_delay = float(getattr(settings, "STRIPE_RETRY_BASE_S", 0.5))
    for attempt in range(1, tries + 1):
        try:
            return fn()
        except stripe.StripeError as exc:
            if attempt == tries or not is_retryable(exc):
                raise
            time.sleep(min(base_delay * 2 ** (attempt - 1), 8.0) * random.uniform(0.5, 1.0))
    raise AssertionError("unreachable")
