"""Seed the shared provider key from EACHLABS_API_KEY, carry over ProviderKeyState, and tie in-flight jobs to it."""

from django.conf import settings
from django.db import migrations


def seed(apps, schema_editor):
    from generations.eachlabs.client import SIMULATOR_API_KEY
    from generations.provider_key_secrets import encrypt_secret, secret_fingerprint

    ProviderKey = apps.get_model("generations", "ProviderKey")
    ProviderKeyState = apps.get_model("generations", "ProviderKeyState")
    Generation = apps.get_model("generations", "Generation")
    secret = settings.EACHLABS_API_KEY or SIMULATOR_API_KEY
    fingerprint = secret_fingerprint(base_url=settings.EACHLABS_BASE_URL, secret=secret)
    key, _ = ProviderKey.objects.get_or_create(
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
    # The old state row was named by SHA-256 of the same "base_url|key" string.
    legacy_fingerprint = __import__("hashlib").sha256(
        f"{settings.EACHLABS_BASE_URL}|{settings.EACHLABS_API_KEY or 'simulator'}".encode()
    ).hexdigest()
    state = ProviderKeyState.objects.filter(key_fingerprint=legacy_fingerprint).first()
    if state is not None:
        key.paused_until = state.paused_until
        key.stopped_at = state.auth_failed_at
        key.state_reason = state.last_error
        key.save()
    # Jobs already at the provider were created with the environment's key: poll them with it.
    Generation.objects.filter(
        status__in=("submitting", "processing"), provider_key__isnull=True
    ).update(provider_key=key)


class Migration(migrations.Migration):
    dependencies = [("generations", "0007_provider_keys")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
