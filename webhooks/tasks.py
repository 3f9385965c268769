"""django-q2 entry points of partner webhooks: thin, they call one service."""

from __future__ import annotations

from webhooks import services


def delivery_attempt(delivery_id: str) -> None:
    services.delivery_attempt(delivery_id=delivery_id)


def deliveries_send_due() -> int:
    return services.deliveries_send_due()


def idempotency_records_purge() -> int:
    from seedance_saas.idempotency import idempotency_records_purge

    return idempotency_records_purge()


def previous_secrets_drop_expired() -> int:
    from webhooks.rotation import previous_secrets_drop_expired

    return previous_secrets_drop_expired()
