"""Generations, their event timeline, provider calls and the provider key's health."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models

from accounts.models import ApiKey, EndUser, Organization


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    SUBMITTING = "submitting", "Submitting"
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


IN_FLIGHT = (Status.SUBMITTING, Status.PROCESSING)
TERMINAL = (Status.SUCCEEDED, Status.FAILED, Status.CANCELED)


# The only extensions a stored frame may have; media is served with a content type read from the extension.
FRAME_EXTENSIONS = ("png", "jpg", "webp")


def _input_path(instance: Generation, filename: str) -> str:
    """`filename` is `frame.<ext>` from the detected format (generation_create); anything else is refused."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in FRAME_EXTENSIONS:
        raise ValueError(f"A stored frame must be named by its detected format, not {filename!r}.")
    return f"generations/frames/{instance.organization_id}/{secrets.token_hex(16)}.{extension}"


class Generation(models.Model):
    """One image-to-video job, from the request to the stored video."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="generations")
    end_user = models.ForeignKey(EndUser, on_delete=models.PROTECT, related_name="generations")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    retry_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries")

    # Inputs, as the catalog normalized them.
    prompt = models.TextField()
    resolution = models.CharField(max_length=8)
    duration = models.CharField(max_length=4, help_text="'auto' or whole seconds 4-15.")
    aspect_ratio = models.CharField(max_length=8)
    generate_audio = models.BooleanField(default=True)
    seed = models.CharField(max_length=32, blank=True)
    image = models.FileField(upload_to=_input_path, blank=True, max_length=255)
    end_image = models.FileField(upload_to=_input_path, blank=True, max_length=255)
    image_url = models.URLField(max_length=2000, blank=True, help_text="The caller's URL, when not uploaded.")
    end_image_url = models.URLField(max_length=2000, blank=True)

    # Lifecycle.
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    prediction_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    webhook_secret = models.CharField(max_length=64, unique=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Create calls that failed retryably.")
    not_before = models.DateTimeField(null=True, blank=True, help_text="Queued: do not submit before this time.")
    next_poll_at = models.DateTimeField(null=True, blank=True)
    polls = models.PositiveIntegerField(default=0)
    webhooks_received = models.PositiveIntegerField(default=0)
    deadline_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    provider_completed_at = models.DateTimeField(null=True, blank=True, help_text="When we learned it had finished.")
    completed_at = models.DateTimeField(null=True, blank=True)
    owner_notified_at = models.DateTimeField(
        null=True, blank=True, help_text="When the browser user who made it was emailed that it ended (at most once)."
    )

    # Results.
    provider_output_url = models.URLField(max_length=2000, blank=True)
    video = models.FileField(upload_to="generations/videos/", blank=True, max_length=255)
    duration_seconds = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    predict_time = models.FloatField(null=True, blank=True)
    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.TextField(blank=True)
    estimated_cost = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "not_before"], name="gen_dispatch_idx"),
            models.Index(fields=["status", "next_poll_at"], name="gen_poll_idx"),
            models.Index(fields=["organization", "status", "created_at"], name="gen_org_status_idx"),
            models.Index(fields=["organization", "-created_at"], name="gen_org_recent_idx"),
            models.Index(fields=["organization", "submitted_at"], name="gen_org_submitted_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL


class GenerationEvent(models.Model):
    """One transition of a generation, written in the same transaction as the change."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=12, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=Status.choices)
    reason = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}: {self.reason}"


class ProviderCall(models.Model):
    """Every call to the provider: the create budget, and the health figures operators watch."""

    class Kind(models.TextChoices):
        CREATE = "create", "Create"
        GET = "get", "Get"
        DOWNLOAD = "download", "Download"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    generation = models.ForeignKey(Generation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(db_index=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=50, blank=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "started_at"], name="provider_call_kind_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.status_code or self.error_code or '…'} at {self.started_at:%H:%M:%S}"


class ProviderKeyState(models.Model):
    """The dispatcher's shared state for one provider key; its row lock serializes claims."""

    key_fingerprint = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the provider key.")
    paused_until = models.DateTimeField(null=True, blank=True, help_text="Set by a 429 with Retry-After.")
    auth_failed_at = models.DateTimeField(null=True, blank=True, help_text="Set by a 401: dispatch stops.")
    last_error = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"provider key {self.key_fingerprint[:8]}"


class FairShareTag(models.Model):
    """Start-time fair queueing state of one organization on one pool of slots (generations.services.fairness)."""

    pool = models.CharField(max_length=64, default="shared", help_text="The provider key whose slots are shared.")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    virtual_start = models.FloatField(default=0.0, help_text="Virtual start of its last dispatched job.")
    virtual_finish = models.FloatField(default=0.0, help_text="Virtual start + 1 / weight: where its next job queues.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pool", "organization"], name="fair_share_tag_unique")]

    def __str__(self) -> str:
        return f"{self.organization_id}@{self.pool}: {self.virtual_finish:.3f}"
