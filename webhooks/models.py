"""Partner webhook endpoints and the deliveries of events to them, with every attempt logged."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from accounts.models import Organization

EVENT_TYPES = ["generation.succeeded", "generation.failed", "generation.canceled"]


def _all_event_types() -> list[str]:
    return list(EVENT_TYPES)


class WebhookEndpoint(models.Model):
    """A partner's URL that receives signed events of the types it subscribed to."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=100, help_text="whsec_<base64>; signs every delivery.")
    # Secret rotation (webhooks/rotation.py): the secret before the last rotation keeps signing beside the new one
    # until `previous_secret_expires_at`, then it is dropped. Stored as `secret` is.
    previous_secret = models.CharField(max_length=100, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    event_types = models.JSONField(default=_all_event_types)
    enabled = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True, help_text="First failure since the last success.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "enabled"])]

    def __str__(self) -> str:
        return self.url

    def previous_secret_active(self, now) -> bool:
        """Whether the secret before the last rotation still signs deliveries at `now`."""
        return (
            bool(self.previous_secret)
            and self.previous_secret_expires_at is not None
            and now < self.previous_secret_expires_at
        )

    @property
    def previous_secret_signs_until(self):
        """The end of the current overlap, or None when only the current secret signs (pages, admin, API)."""
        return self.previous_secret_expires_at if self.previous_secret_active(timezone.now()) else None


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event sent to one endpoint: retried with backoff until it succeeds or gives up."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=64, db_index=True, help_text="The webhook-id header; same on retries.")
    event_type = models.CharField(max_length=64)
    payload = models.JSONField(help_text="The whole JSON body sent.")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_response_excerpt = models.TextField(blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    attempt_log = models.JSONField(default=list, help_text="One entry per attempt: at, status_code, latency_ms, ...")
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["organization", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} -> {self.endpoint_id}"
