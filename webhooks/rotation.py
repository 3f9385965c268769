"""Signing secrets of webhook endpoints: Standard Webhooks signatures and rotation with an overlap."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from seedance_saas.errors import InvalidInput
from webhooks.models import WebhookEndpoint

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
DEFAULT_OVERLAP_HOURS = 24
MAX_OVERLAP_HOURS = 168  # a week: long enough to roll out a receiver, short enough that an old secret dies
# The browser's choices (the API takes any whole number of hours in range).
OVERLAP_CHOICES = [(0, "revoke the old secret now"), (1, "1 hour"), (24, "24 hours"), (72, "3 days"), (168, "7 days")]


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature_for(*, secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed by the decoded part of `whsec_...`."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signing_secrets(*, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The current secret, then the one before the last rotation while its overlap lasts."""
    if endpoint.previous_secret_active(now):
        return [endpoint.secret, endpoint.previous_secret]
    return [endpoint.secret]


def signature_header(*, endpoint: WebhookEndpoint, msg_id: str, timestamp: int, body: str, now: datetime) -> str:
    """The `webhook-signature` value: one `v1,<sig>` per live secret, space-separated (Standard Webhooks)."""
    return " ".join(
        signature_for(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body)
        for secret in signing_secrets(endpoint=endpoint, now=now)
    )


def overlap_hours_validate(value) -> int:
    message = f"Use a whole number of hours from 0 (revoke the old secret now) to {MAX_OVERLAP_HOURS}."
    if isinstance(value, bool):
        raise InvalidInput(message, fields={"overlap_hours": [message]})
    try:
        hours = int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidInput(message, fields={"overlap_hours": [message]}) from None
    if not 0 <= hours <= MAX_OVERLAP_HOURS:
        raise InvalidInput(message, fields={"overlap_hours": [message]})
    return hours


def webhook_endpoint_rotate_secret(
    *, endpoint: WebhookEndpoint, overlap_hours=DEFAULT_OVERLAP_HOURS, now: datetime | None = None
) -> WebhookEndpoint:
    """A new secret signs from now on; the current one keeps signing beside it for `overlap_hours` (0: not at all).

    Rotating again during an overlap drops the oldest secret at once: at most two secrets ever sign.
    """
    hours = overlap_hours_validate(overlap_hours)
    now = now or timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.previous_secret = endpoint.secret if hours else ""
        endpoint.previous_secret_expires_at = now + timedelta(hours=hours) if hours else None
        endpoint.secret = secret_generate()
        endpoint.secret_rotated_at = now
        endpoint.save(
            update_fields=["secret", "previous_secret", "previous_secret_expires_at", "secret_rotated_at", "updated_at"]
        )
    logger.info("webhook endpoint %s: secret rotated, old secret signs for %s more hours", endpoint.pk, hours)
    return endpoint


def previous_secrets_drop_expired(*, now: datetime | None = None) -> int:
    """Forget old secrets whose overlap has ended (signing already ignores them; this removes them from storage)."""
    now = now or timezone.now()
    return (
        WebhookEndpoint.objects.exclude(previous_secret="")
        .filter(previous_secret_expires_at__lte=now)
        .update(previous_secret="", previous_secret_expires_at=None)
    ) + WebhookEndpoint.objects.exclude(previous_secret="").filter(previous_secret_expires_at__isnull=True).update(
        previous_secret=""
    )
