"""Storyboards: 2-8 shots in order, each one generation, stitched into one film when all have succeeded."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models

from accounts.models import ApiKey, EndUser, Organization
from generations.models import Generation

MIN_SHOTS = 2
MAX_SHOTS = 8


class StoryboardStatus(models.TextChoices):
    RUNNING = "running", "Running"
    STITCHING = "stitching", "Stitching"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ShotStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"  # for the shot before it (chained) or for its start
    RUNNING = "running", "Running"  # its generation is queued or at the provider
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    STOPPED = "stopped", "Stopped"  # the shot it continues failed; its hold is released


SHOT_OPEN = (ShotStatus.WAITING, ShotStatus.RUNNING)


def _frame_path(instance: Shot, filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in ("png", "jpg", "webp"):
        raise ValueError(f"A stored frame must be named by its detected format, not {filename!r}.")
    return f"storyboards/frames/{instance.organization_id}/{secrets.token_hex(16)}.{extension}"


class Storyboard(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="storyboards")
    end_user = models.ForeignKey(EndUser, on_delete=models.PROTECT, related_name="storyboards")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=200, blank=True)
    resolution = models.CharField(max_length=8)
    aspect_ratio = models.CharField(max_length=8)
    generate_audio = models.BooleanField(default=True)
    status = models.CharField(max_length=12, choices=StoryboardStatus.choices, default=StoryboardStatus.RUNNING)
    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.TextField(blank=True)
    estimated_cost = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    film = models.FileField(blank=True, max_length=255)
    poster = models.FileField(blank=True, max_length=255)
    duration_seconds = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="storyboard_org_recent_idx")]

    def __str__(self) -> str:
        return f"storyboard {self.id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in (StoryboardStatus.SUCCEEDED, StoryboardStatus.FAILED)


class Shot(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    storyboard = models.ForeignKey(Storyboard, on_delete=models.CASCADE, related_name="shots")
    position = models.PositiveSmallIntegerField(help_text="1-based order in the film.")
    prompt = models.TextField()
    duration = models.CharField(max_length=4)
    continue_previous = models.BooleanField(default=False, help_text="First frame = last frame of the shot before.")
    image = models.FileField(upload_to=_frame_path, blank=True, max_length=255)
    image_url = models.URLField(max_length=2000, blank=True)
    status = models.CharField(max_length=10, choices=ShotStatus.choices, default=ShotStatus.WAITING)
    # The id its spend hold is under and its generation will have: authorized with the storyboard, used at start.
    planned_generation_id = models.UUIDField(default=uuid.uuid4, unique=True)
    generation = models.ForeignKey(Generation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    attempts = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["storyboard", "position"], name="shot_unique_position"),
        ]

    def __str__(self) -> str:
        return f"shot {self.position} of {self.storyboard_id} ({self.status})"
