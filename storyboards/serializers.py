"""Shapes of storyboards in the partner API: JSON types of the request, and the documented representation.

The catalog and storyboards.services validate the values (one InvalidInput naming every bad field)."""

from __future__ import annotations

from rest_framework import serializers

from generations.catalog import ASPECT_RATIOS, RESOLUTIONS
from storyboards.models import MAX_SHOTS, ShotStatus, StoryboardStatus


class ShotCreateSerializer(serializers.Serializer):
    prompt = serializers.CharField(allow_blank=True, trim_whitespace=False)
    duration = serializers.CharField(required=False, allow_blank=True, help_text="'auto' or whole seconds 4-15.")
    image_url = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="Public HTTPS URL of this shot's first frame."
    )
    continue_previous = serializers.BooleanField(
        required=False, default=False, help_text="Start from the last frame of the shot before (no frame of its own)."
    )


class StoryboardCreateSerializer(serializers.Serializer):
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    resolution = serializers.CharField(required=False, allow_blank=True, help_text=f"One of {', '.join(RESOLUTIONS)}.")
    aspect_ratio = serializers.CharField(
        required=False, allow_blank=True, help_text=f"One of {', '.join(ASPECT_RATIOS)}; the same for every shot."
    )
    generate_audio = serializers.BooleanField(required=False, default=None, allow_null=True)
    end_user_id = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    shots = serializers.JSONField(
        help_text=(
            f"2 to {MAX_SHOTS} shots in order: `prompt`, `duration`, and `image_url` or `continue_previous: true`. "
            "In multipart, a JSON string; shot n's uploaded first frame is the file field `shot_<n>_image`."
        )
    )


class ShotErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ShotSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ShotStatus.values)
    prompt = serializers.CharField()
    duration = serializers.CharField()
    continue_previous = serializers.BooleanField()
    image_url = serializers.CharField(allow_null=True)
    generation_id = serializers.UUIDField(allow_null=True)
    video_url = serializers.URLField(allow_null=True)
    duration_seconds = serializers.FloatField(allow_null=True)
    cost = serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True)
    attempts = serializers.IntegerField(help_text="Retries of this shot.")
    error = ShotErrorSerializer(allow_null=True)


class StoryboardSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=StoryboardStatus.values)
    title = serializers.CharField(allow_blank=True)
    resolution = serializers.CharField()
    aspect_ratio = serializers.CharField()
    generate_audio = serializers.BooleanField()
    end_user_id = serializers.CharField()
    estimated_cost = serializers.DecimalField(max_digits=12, decimal_places=4, help_text="USD held for all shots.")
    cost = serializers.DecimalField(
        max_digits=12, decimal_places=4, allow_null=True, help_text="USD billed so far: succeeded shots only."
    )
    currency = serializers.CharField()
    film_url = serializers.URLField(allow_null=True, help_text="The stitched MP4 once succeeded (signed link).")
    poster_url = serializers.URLField(allow_null=True, help_text="A JPEG of the film's first frame.")
    duration_seconds = serializers.FloatField(allow_null=True)
    error = ShotErrorSerializer(allow_null=True)
    shots = ShotSerializer(many=True)
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    media_expires_at = serializers.DateTimeField(allow_null=True)
