"""Bookkeeping shared by every call to the provider: the ProviderCall log and retry backoff."""

from __future__ import annotations

import random
import time

from django.conf import settings

from generations.models import ProviderCall


def record_call(call: ProviderCall, started: float, *, status_code: int | None = None, error=None) -> None:
    call.latency_ms = int((time.monotonic() - started) * 1000)
    call.status_code = status_code if error is None else error.status_code
    call.error_code = "" if error is None else error.code
    call.save(update_fields=["latency_ms", "status_code", "error_code"])


def backoff_s(attempt: int) -> float:
    """Exponential backoff with full jitter, capped."""
    ceiling = min(settings.EACHLABS_BACKOFF_BASE_S * 2 ** (attempt - 1), settings.EACHLABS_BACKOFF_MAX_S)
    return random.uniform(ceiling / 2, ceiling)
