"""Provider keys: the shared key seeded from the environment, their limits, pauses (429), stops (401), resumes."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from accounts.models import Organization
from generations.eachlabs.client import SIMULATOR_API_KEY
from generations.models import ProviderKey
from generations.provider_key_secrets import encrypt_secret, reencrypt_secret, secret_fingerprint
from generations.services.transitions import wake_dispatcher

logger = logging.getLogger(__name__)


def _environment_secret() -> str:
    return settings.EACHLABS_API_KEY or SIMULATOR_API_KEY


def provider_key_fingerprint() -> str:
    """The SHA-256 that names the environment's (default shared) key; never the key itself."""
    return secret_fingerprint(base_url=settings.EACHLABS_BASE_URL, secret=_environment_secret())


def provider_key_default_ensure() -> ProviderKey:
    """The shared key seeded from EACHLABS_API_KEY (the simulator's key in simulator mode); idempotent.

    A changed EACHLABS_API_KEY adds a new shared key and disables the old environment one, whose jobs in
    flight are still polled with it."""
    fingerprint = provider_key_fingerprint()
    key = ProviderKey.objects.filter(fingerprint=fingerprint).first()
    if key is not None:
        return key
    secret = _environment_secret()
    with transaction.atomic():
        key, created = ProviderKey.objects.get_or_create(
            fingerprint=fingerprint,
            defaults={
                "label": "shared (EACHLABS_API_KEY)" if settings.EACHLABS_API_KEY else "shared (simulator)",
                "encrypted_secret": encrypt_secret(secret),
                "last4": secret[-4:],
                "from_environment": True,
                "max_in_flight": settings.EACHLABS_MAX_IN_FLIGHT,
                "max_creates_per_minute": settings.EACHLABS_MAX_CREATES_PER_MINUTE,
            },
        )
        if created:
            ProviderKey.objects.filter(from_environment=True).exclude(pk=key.pk).update(enabled=False)
    return key


# Kept for callers of the single-key era: the default shared key.
def provider_key_state() -> ProviderKey:
    return provider_key_default_ensure()


def provider_key_create(
    *,
    label: str,
    secret: str,
    organization: Organization | None = None,
    base_url: str = "",
    max_in_flight: int = 10,
    max_creates_per_minute: int = 100,
) -> ProviderKey:
    """Store a key (encrypted). The caller has checked it with the provider when that matters (own keys)."""
    secret = secret.strip()
    return ProviderKey.objects.create(
        label=label,
        organization=organization,
        base_url=base_url,
        encrypted_secret=encrypt_secret(secret),
        fingerprint=secret_fingerprint(base_url=base_url or settings.EACHLABS_BASE_URL, secret=secret),
        last4=secret[-4:],
        max_in_flight=max_in_flight,
        max_creates_per_minute=max_creates_per_minute,
    )


def provider_key_set_secret(*, key: ProviderKey, secret: str) -> ProviderKey:
    """Replace the secret (a new key from the provider): the new key starts active, with nothing learned."""
    secret = secret.strip()
    key.encrypted_secret = encrypt_secret(secret)
    key.fingerprint = secret_fingerprint(base_url=key.base_url or settings.EACHLABS_BASE_URL, secret=secret)
    key.last4 = secret[-4:]
    key.stopped_at = key.paused_until = key.learned_in_flight_limit = key.learned_changed_at = None
    key.state_reason = ""
    key.save()
    wake_dispatcher()
    return key


def provider_key_locked(key_id: int) -> ProviderKey:
    """The key's row, locked for the rest of the caller's transaction (serializes dispatchers on that key)."""
    return ProviderKey.objects.select_for_update().get(pk=key_id)


def provider_key_probe_up(key: ProviderKey, now: datetime) -> None:
    """Inside the claim lock: one more slot when the learned limit has held for a probe interval without a 429."""
    if key.learned_in_flight_limit is None or key.learned_changed_at is None:
        return
    if now - key.learned_changed_at < timedelta(seconds=settings.PROVIDER_KEY_PROBE_INTERVAL_S):
        return
    raised = key.learned_in_flight_limit + 1
    key.learned_in_flight_limit = None if raised >= key.max_in_flight else raised
    key.learned_changed_at = now
    key.save(update_fields=["learned_in_flight_limit", "learned_changed_at", "updated_at"])
    logger.info("Provider key %s probes its in-flight limit up to %s.", key.fingerprint_prefix, key.in_flight_limit)


def provider_key_rate_limited(*, key_id: int, until: datetime, wait_s: float, in_flight: int, creates: int) -> None:
    """A 429: pause this key only. When fewer than its in-flight limit were in flight and the create budget was
    not the cause, the provider's real limit is lower than ours: learn it (never below 1)."""
    now = timezone.now()
    with transaction.atomic():
        key = provider_key_locked(key_id)
        key.paused_until = max(until, key.paused_until or until)
        key.state_reason = f"429 rate limited; paused for {wait_s:.0f} s"
        if in_flight < key.in_flight_limit and creates < key.max_creates_per_minute:
            key.learned_in_flight_limit = max(1, in_flight)
            key.learned_changed_at = now
            key.state_reason += f"; learned in-flight limit {key.learned_in_flight_limit}"
        key.save()
    logger.warning("Provider key %s rate limited: %s.", key.fingerprint_prefix, key.state_reason)


def provider_key_stop(*, key_id: int, reason: str = "401: the provider refused the key") -> bool:
    """A 401: stop dispatching on this key only; its organizations' jobs stay queued. True when this call
    stopped it (then the owners of the affected organizations are told once)."""
    now = timezone.now()
    stopped = ProviderKey.objects.filter(pk=key_id, stopped_at__isnull=True).update(
        stopped_at=now, state_reason=reason, updated_at=now
    )
    if stopped:
        logger.error("The provider refused key %s (401); its dispatch stops until an operator resumes it.", key_id)
        transaction.on_commit(lambda: async_task("generations.tasks.notify_key_stopped", key_id))
    return bool(stopped)


def provider_key_resume(*, key: ProviderKey) -> ProviderKey:
    """Operators: clear a 401 stop or a 429 pause and dispatch on the key again."""
    ProviderKey.objects.filter(pk=key.pk).update(stopped_at=None, paused_until=None, state_reason="")
    key.refresh_from_db()
    wake_dispatcher()
    return key


def provider_resume() -> None:
    """Operators, single-key era: resume the default shared key."""
    provider_key_resume(key=provider_key_default_ensure())


def provider_keys_reencrypt() -> int:
    """Re-encrypt every secret under the first PROVIDER_KEY_ENCRYPTION_KEYS entry; returns how many rows."""
    count = 0
    for key in ProviderKey.objects.only("pk", "encrypted_secret"):
        ProviderKey.objects.filter(pk=key.pk).update(encrypted_secret=reencrypt_secret(key.encrypted_secret))
        count += 1
    return count
