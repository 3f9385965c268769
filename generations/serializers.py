"""Shapes of generations in the partner API: request types and the documented representation.

The catalog validates the inputs (one InvalidInput naming every bad field); these serializers
only check JSON types and describe the shape for the OpenAPI schema. The body itself comes from
generations.representation, which partner webhooks share.
"""

from __future__ import annotations

from rest_framework import serializers

from generations.catalog import ASPECT_RATIOS, DURATIONS, RESOLUTIONS
from generations.models import Status


class GenerationCreateSerializer(serializers.Serializer):
    prompt = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        trim_whitespace=False,
        help_text="Motion, action, dialogue, camera.",
    )
    image_url = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="Public HTTPS URL of the first frame (JPEG, PNG or WebP, <= 30 MB).",
    )
    end_image_url = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="Optional last frame URL."
    )
    image = serializers.FileField(
        required=False, help_text="Multipart upload of the first frame, instead of image_url."
    )
    end_image = serializers.FileField(required=False, help_text="Multipart upload of the last frame.")
    resolution = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text=f"One of {', '.join(RESOLUTIONS)}."
    )
    duration = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="'auto' (default) or whole seconds 4-15 (a string or a number).",
    )
    aspect_ratio = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text=f"One of {', '.join(ASPECT_RATIOS)}."
    )
    generate_audio = serializers.BooleanField(required=False, default=None, allow_null=True, help_text="Default true.")
    seed = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="Best-effort reproducibility."
    )
    end_user_id = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="Your own id for the person (created on first use); absent means the organization's default.",
    )

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
        return attrs


class GenerationErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class GenerationSerializer(serializers.Serializer):
    """The documented shape of a generation (the body is built by generations.representation)."""

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Status.values)
    prompt = serializers.CharField()
    image_url = serializers.CharField(
        help_text="Your URL, or a signed link to our copy of the upload (valid until `media_expires_at`)."
    )
    end_image_url = serializers.CharField(allow_null=True)
    resolution = serializers.ChoiceField(choices=RESOLUTIONS)
    duration = serializers.ChoiceField(choices=DURATIONS)
    aspect_ratio = serializers.ChoiceField(choices=ASPECT_RATIOS)
    generate_audio = serializers.BooleanField()
    seed = serializers.CharField(allow_null=True)
    end_user_id = serializers.CharField()
    estimated_cost = serializers.DecimalField(max_digits=12, decimal_places=4, help_text="USD held for this job.")
    cost = serializers.DecimalField(
        max_digits=12, decimal_places=4, allow_null=True, help_text="USD billed; null until it is known."
    )
    currency = serializers.CharField()
    video_url = serializers.URLField(
        allow_null=True,
        help_text="A signed link to our stored copy, valid until `media_expires_at`; null until succeeded.",
    )
    duration_seconds = serializers.FloatField(allow_null=True, help_text="Measured length of the video.")
    error = GenerationErrorSerializer(allow_null=True)
    retry_of = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    queue_position = serializers.IntegerField(
        allow_null=True,
        min_value=1,
        help_text=(
            "While queued: 1 starts next. Follows the fair-share order (plan weights, caps), so it can move as "
            "other organizations submit; null when not queued or too far back to estimate."
        ),
    )
    estimated_start_at = serializers.DateTimeField(
        allow_null=True,
        help_text=(
            "While queued: when the provider should start it, from the jobs in flight and their expected ends, the "
            "learned processing time and the fair shares. Null when not queued or unknown (e.g. the provider key is "
            "stopped)."
        ),
    )
    estimated_finish_at = serializers.DateTimeField(
        allow_null=True,
        help_text="While queued or processing: when the video should be ready. Null once it ends or when unknown.",
    )
    media_expires_at = serializers.DateTimeField(
        allow_null=True,
        help_text=(
            "When the signed links to files we store (`video_url`, uploaded frames) stop working; null when there "
            "are none. Links die sooner if the API key they were issued to is revoked. Read the generation again "
            "for fresh links."
        ),
    )


class GenerationFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.values, required=False)
    end_user_id = serializers.CharField(required=False, max_length=160)
    created_after = serializers.DateTimeField(required=False, help_text="ISO 8601; inclusive.")
    created_before = serializers.DateTimeField(required=False, help_text="ISO 8601; exclusive.")
