"""Scrub secrets and personal data from anything about to leave the process (log lines, Sentry events)."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

REDACTED = "[redacted]"
# Values that cannot hold a secret and that renderers (JSON, Sentry) know how to write.
_PLAIN_TYPES = (bool, int, float, Decimal, uuid.UUID, datetime, date, time)

# A key whose lowercased name contains one of these never has its value written out.
SENSITIVE_KEY_PARTS = (
    "prompt",
    "email",
    "password",
    "secret",
    "authorization",
    "api_key",
    "apikey",
    "token",
    "cookie",
    "csrf",
    "sessionid",
)

# Values that are secrets or personal data wherever they appear inside a string.
_PATTERNS = (
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email]"),
    (re.compile(r"(?i)\bbearer\s+[^\s,;\"']+"), "Bearer " + REDACTED),
    # Our API keys (accounts/services.py), Stripe keys, and webhook signing secrets (webhooks/services.py).
    (re.compile(r"\b((?:sk|rk|pk)_(?:live|test))_[A-Za-z0-9_-]+"), r"\1_" + REDACTED),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=_-]+"), "whsec_" + REDACTED),
    # The provider's webhook URL carries the generation's secret in its path.
    (re.compile(r"/hooks/eachlabs/[^/\s?\"']+"), "/hooks/eachlabs/" + REDACTED),
)


def is_sensitive_key(key: object) -> bool:
    lowered = str(key).lower().replace("-", "_")
    return any(part in lowered for part in SENSITIVE_KEY_PARTS)


def scrub_text(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub(value: Any, *, depth: int = 0) -> Any:
    """A copy of `value` with sensitive keys blanked and secrets inside strings replaced."""
    if depth > 12:
        return value
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {
            key: REDACTED if is_sensitive_key(key) and item not in (None, "") else scrub(item, depth=depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        # Sentry sends headers and cookies as [name, value] pairs.
        if len(value) == 2 and isinstance(value[0], str) and is_sensitive_key(value[0]):
            return type(value)([value[0], REDACTED])
        return type(value)(scrub(item, depth=depth + 1) for item in value)
    if value is None or isinstance(value, _PLAIN_TYPES):
        return value
    # Anything else (a request passed as `extra`, an exception) would be rendered by its repr: scrub that.
    return scrub_text(str(value))


def redact_processor(logger: Any, method_name: str, event_dict: dict) -> dict:
    """structlog processor: the last step before rendering, so it sees the formatted message and traceback."""
    return scrub(event_dict)
