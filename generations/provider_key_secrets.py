"""Provider key secrets at rest: Fernet encryption under PROVIDER_KEY_ENCRYPTION_KEYS, and fingerprints."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _fernet() -> MultiFernet:
    """The first key encrypts; every key decrypts (so the encryption key can be rotated)."""
    keys = list(settings.PROVIDER_KEY_ENCRYPTION_KEYS)
    if not keys:
        # Never in production (settings refuses to start without keys): derive one from SECRET_KEY.
        digest = hashlib.sha256(f"provider-key-encryption|{settings.SECRET_KEY}".encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as error:
        raise ImproperlyConfigured(
            "PROVIDER_KEY_ENCRYPTION_KEYS must be Fernet keys (32 url-safe base64 bytes), comma-separated."
        ) from error


def encrypt_secret(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt_secret(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise ImproperlyConfigured(
            "A provider key cannot be decrypted: its encryption key is missing from PROVIDER_KEY_ENCRYPTION_KEYS."
        ) from error


def reencrypt_secret(token: str) -> str:
    """The same secret under the first (current) encryption key."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken as error:
        raise ImproperlyConfigured(
            "A provider key cannot be re-encrypted: the key it was encrypted with is not in "
            "PROVIDER_KEY_ENCRYPTION_KEYS (keep the old key after the new one until the rotation has run)."
        ) from error


def secret_fingerprint(*, base_url: str, secret: str) -> str:
    """Names a key without revealing it: SHA-256 over the base URL and the secret."""
    return hashlib.sha256(f"{base_url.rstrip('/')}|{secret}".encode()).hexdigest()
