"""The provider key's state: paused after a 429, stopped after a 401, resumed by operators."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from generations.models import ProviderKeyState
from generations.services.transitions import wake_dispatcher

logger = logging.getLogger(__name__)


def provider_key_fingerprint() -> str:
    """The SHA-256 that names the configured provider key in ProviderKeyState (never the key itself)."""
    key = settings.EACHLABS_API_KEY or "simulator"
    return hashlib.sha256(f"{settings.EACHLABS_BASE_URL}|{key}".encode()).hexdigest()


def provider_key_state() -> ProviderKeyState:
    state, _ = ProviderKeyState.objects.get_or_create(key_fingerprint=provider_key_fingerprint())
    return state


def provider_key_locked() -> ProviderKeyState:
    """The key's state row, locked for the rest of the caller's transaction (serializes dispatchers)."""
    provider_key_state()  # make sure the row exists before locking it
    return ProviderKeyState.objects.select_for_update().get(key_fingerprint=provider_key_fingerprint())


def provider_key_pause(*, until: datetime, wait_s: float) -> None:
    ProviderKeyState.objects.filter(key_fingerprint=provider_key_fingerprint()).update(
        paused_until=until, last_error=f"429 rate limited; paused for {wait_s:.0f} s"
    )


def provider_key_stop() -> None:
    ProviderKeyState.objects.filter(key_fingerprint=provider_key_fingerprint()).update(
        auth_failed_at=timezone.now(), last_error="401: the provider refused our API key"
    )
    logger.error("Eachlabs refused the API key (401); dispatch is stopped until an operator resumes it.")


def provider_resume() -> None:
    """Operators: clear a 401 stop or a rate-limit pause and dispatch again."""
    ProviderKeyState.objects.filter(key_fingerprint=provider_key_fingerprint()).update(
        auth_failed_at=None, paused_until=None, last_error=""
    )
    wake_dispatcher()
