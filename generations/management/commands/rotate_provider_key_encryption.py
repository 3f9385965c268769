"""`manage.py rotate_provider_key_encryption`: re-encrypt every provider key under the first encryption key."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from generations import services


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored provider key with the first PROVIDER_KEY_ENCRYPTION_KEYS entry. Run after putting "
        "a new key first (keeping the old one after it); then the old one can be removed."
    )

    def handle(self, *args, **options):
        count = services.provider_keys_reencrypt()
        self.stdout.write(f"Re-encrypted {count} provider key(s) under the current encryption key.")
