"""Erasing what partner webhook deliveries hold about objects that were erased (generic: by the payload's id)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from webhooks.models import DeliveryStatus, WebhookDelivery

ERASED_ERROR = "Not sent: the object was erased on request."


def _scrubbed_log(attempt_log: list) -> list:
    """Keep when and how each attempt went; drop what the partner answered (it may echo the payload)."""
    return [{**entry, "response_excerpt": ""} for entry in attempt_log if isinstance(entry, dict)]


def deliveries_scrub(*, organization: Organization, object_ids: list[str]) -> int:
    """Every delivery whose `payload.data.id` is one of `object_ids` keeps its envelope (id, type, timestamp) but
    its `data` becomes `{"id": ..., "erased": true}`; pending ones stop. Returns how many were scrubbed.

    Runs inside the caller's transaction.
    """
    ids = [str(object_id) for object_id in object_ids]
    scrubbed = 0
    with transaction.atomic():
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            deliveries = WebhookDelivery.objects.select_for_update().filter(
                organization=organization, payload__data__id__in=chunk
            )
            for delivery in deliveries:
                payload = dict(delivery.payload)
                payload["data"] = {"id": str(payload["data"]["id"]), "erased": True}
                delivery.payload = payload
                delivery.last_response_excerpt = ""
                delivery.attempt_log = _scrubbed_log(delivery.attempt_log)
                fields = ["payload", "last_response_excerpt", "attempt_log"]
                if delivery.status == DeliveryStatus.PENDING:
                    delivery.status = DeliveryStatus.FAILED
                    delivery.next_attempt_at = None
                    delivery.last_error = ERASED_ERROR
                    delivery.last_attempt_at = delivery.last_attempt_at or timezone.now()
                    fields += ["status", "next_attempt_at", "last_error", "last_attempt_at"]
                delivery.save(update_fields=fields)
                scrubbed += 1
    return scrubbed
