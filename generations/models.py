"""Generations, their event timeline, provider calls and the provider keys."""

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
    variation_group = models.UUIDField(
        null=True, blank=True, db_index=True, help_text="Shared by variations made together."
    )
    continues = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="continuations",
        help_text="The video whose last frame is this one's first frame.",
    )
    # Set when claimed: the job is polled and its video fetched with the key that created it.
    provider_key = models.ForeignKey(
        "ProviderKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="generations"
    )

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
    poster = models.FileField(blank=True, max_length=255, help_text="A still from the video (generations.posters).")
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
            # The partner list's order (-created_at, -id), read backwards; its pages start at a cursor on both.
            models.Index(fields=["organization", "created_at", "id"], name="gen_org_created_id_idx"),
            models.Index(fields=["organization", "submitted_at"], name="gen_org_submitted_idx"),
            # generations.metrics: submissions and completions of the last window, across tenants.
            models.Index(fields=["submitted_at"], name="gen_submitted_idx"),
            models.Index(fields=["status", "completed_at"], name="gen_status_completed_idx"),
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
    provider_key = models.ForeignKey("ProviderKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(db_index=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=50, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["kind", "started_at"], name="provider_call_kind_idx"),
            models.Index(fields=["provider_key", "kind", "started_at"], name="provider_call_key_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.status_code or self.error_code or '…'} at {self.started_at:%H:%M:%S}"


class ProviderKey(models.Model):
    """One provider (Eachlabs) API key: its limits, its health, and whose jobs it runs.

    `organization` NULL is a shared key (every organization without an own key of its own);
    otherwise it runs only that organization's jobs. The secret is stored encrypted
    (generations/provider_key_secrets.py) and is never shown again; its row lock serializes claims."""

    label = models.CharField(max_length=100)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="provider_keys"
    )
    base_url = models.URLField(blank=True, help_text="Blank: EACHLABS_BASE_URL.")
    encrypted_secret = models.TextField(editable=False, help_text="Fernet token; never the key itself.")
    fingerprint = models.CharField(max_length=64, unique=True, editable=False, help_text="SHA-256 of URL and key.")
    last4 = models.CharField(max_length=4, editable=False)
    from_environment = models.BooleanField(default=False, editable=False, help_text="Seeded from EACHLABS_API_KEY.")
    enabled = models.BooleanField(default=True, help_text="Off: no new jobs go to this key (in-flight ones finish).")
    max_in_flight = models.PositiveIntegerField(default=10, help_text="Configured concurrent jobs.")
    max_creates_per_minute = models.PositiveIntegerField(default=100)
    learned_in_flight_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Lowered by a 429 below the configured limit; probes back up slowly."
    )
    learned_changed_at = models.DateTimeField(null=True, blank=True)
    paused_until = models.DateTimeField(null=True, blank=True, help_text="Set by a 429 with Retry-After.")
    stopped_at = models.DateTimeField(null=True, blank=True, help_text="Set by a 401: dispatch on it stops.")
    state_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization_id", "pk"]
        constraints = [
            # One own key per organization; attaching a new one replaces its secret.
            models.UniqueConstraint(
                fields=["organization"], condition=models.Q(organization__isnull=False), name="provider_key_one_per_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} (…{self.last4})"

    @property
    def fingerprint_prefix(self) -> str:
        return self.fingerprint[:12]

    @property
    def in_flight_limit(self) -> int:
        """The limit dispatch keeps to: the learned one when lower than the configured one."""
        if self.learned_in_flight_limit is None:
            return self.max_in_flight
        return max(1, min(self.max_in_flight, self.learned_in_flight_limit))

    def plaintext_secret(self) -> str:
        """The key itself, for the provider client only; never rendered, logged or shown."""
        from generations.provider_key_secrets import decrypt_secret

        return decrypt_secret(self.encrypted_secret)

    plaintext_secret.alters_data = True  # templates never call it

    def state_at(self, now) -> str:
        if self.stopped_at:
            return "stopped"
        if self.paused_until and self.paused_until > now:
            return "paused"
        return "active"


class ShareLink(models.Model):
    """A public, revocable link to one shared thing (`kind` + `target_id`); only the token's SHA-256 is kept.

    `kind` names what is shared ("generation" now; a storyboard's film can register its own kind in
    generations.sharing without a foreign key from here into an app that imports us).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="share_links")
    kind = models.CharField(max_length=20, default="generation")
    target_id = models.UUIDField()
    token_hash = models.CharField(max_length=64, unique=True, editable=False, help_text="SHA-256 of the token.")
    hide_prompt = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "kind", "target_id"], name="share_link_target_idx")]

    def __str__(self) -> str:
        return f"share link {self.pk} to {self.kind} {self.target_id}"

    def is_active(self, now) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class ExportStatus(models.TextChoices):
    BUILDING = "building", "Building"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class EndUserExport(models.Model):
    """A large export of everything held about one end user, built by a task into media storage (generations/
    privacy_export.py); deleted with its file when it expires or when the end user is erased."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="exports")
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.BUILDING)
    file_name = models.CharField(max_length=255, blank=True)
    generations_count = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(help_text="The file is deleted after this time.")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "end_user", "created_at"], name="gen_export_recent_idx")]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.status})"


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
