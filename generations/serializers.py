"""Shapes of generations in the partner API: request types and the documented representation.

The catalog validates the inputs (one InvalidInput naming every bad field); these serializers
only check JSON types and describe the shape for the OpenAPI schema. The body itself comes from
generations.representation, which partner webhooks share.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from generations.catalog import (
    ASPECT_RATIOS,
    DEFAULT_RESOLUTION,
    DURATIONS,
    MAX_DURATION_S,
    MAX_PROMPT_CHARS,
    MAX_SEED_CHARS,
    MIN_DURATION_S,
    RESOLUTIONS,
    allowed_resolutions,
)
from generations.models import Status
from seedance_saas.api_inputs import (
    ClosedBodyMixin,
    StrictJsonTypesMixin,
    StrictQueryMixin,
    documented_field,
    https_url_field,
)

# Generation.image_url and end_image_url hold at most this much.
MAX_URL_CHARS = 2000


def _enum(values, *, nullable: bool = True, **extra) -> dict:
    return {"type": "string", "enum": list(values), "nullable": nullable, **extra}


class _ResolutionField(serializers.CharField):
    """The resolutions this deployment takes (1080p only with SEEDANCE_ENABLE_1080P), read when the schema is built."""


class ResolutionFieldExtension(OpenApiSerializerFieldExtension):
    target_class = _ResolutionField

    def map_serializer_field(self, auto_schema, direction):
        return _enum(allowed_resolutions(), description=f"Default {DEFAULT_RESOLUTION}.")


class GenerationCreateSerializer(ClosedBodyMixin, StrictJsonTypesMixin, serializers.Serializer):
    """A create as multipart/form-data: the first frame uploaded as `image` or given as `image_url`, not both.

    Every rule the catalog enforces is stated in the schema; the catalog still checks them (one InvalidInput
    naming every bad field). An empty value is refused (null or leaving it out means the default).
    """

    extra_json_types = {"duration": (str, int)}

    prompt = documented_field(
        {"type": "string", "minLength": 1, "maxLength": MAX_PROMPT_CHARS, "pattern": r"\S"}, checked_later=True
    )(
        max_length=MAX_PROMPT_CHARS,
        trim_whitespace=False,
        help_text=f"Motion, action, dialogue, camera; not only spaces; at most {MAX_PROMPT_CHARS} characters.",
    )
    image_url = https_url_field(
        max_length=MAX_URL_CHARS,
        required=False,
        help_text="Public HTTPS URL of the first frame (JPEG, PNG or WebP, <= 30 MB); or upload `image`.",
    )
    end_image_url = https_url_field(
        max_length=MAX_URL_CHARS, required=False, allow_null=True, help_text="Optional last frame URL."
    )
    image = serializers.FileField(
        required=False, help_text="The first frame (JPEG, PNG or WebP, <= 30 MB), instead of image_url."
    )
    end_image = serializers.FileField(required=False, help_text="The last frame, instead of end_image_url.")
    resolution = _ResolutionField(required=False, allow_null=True)
    duration = documented_field(
        {
            "oneOf": [
                {"type": "string", "enum": list(DURATIONS)},
                {"type": "integer", "minimum": MIN_DURATION_S, "maximum": MAX_DURATION_S},
            ],
            "nullable": True,
            "description": f"'auto' (default) or whole seconds {MIN_DURATION_S}-{MAX_DURATION_S}, string or number.",
        }
    )(required=False, allow_null=True)
    aspect_ratio = documented_field(_enum(ASPECT_RATIOS, description="Default auto."))(required=False, allow_null=True)
    generate_audio = serializers.BooleanField(required=False, default=None, allow_null=True, help_text="Default true.")
    seed = serializers.CharField(
        required=False,
        allow_null=True,
        min_length=1,
        max_length=MAX_SEED_CHARS,
        trim_whitespace=False,
        help_text="Best-effort reproducibility.",
    )
    end_user_id = documented_field(
        {"type": "string", "nullable": True, "pattern": r"^([A-Za-z0-9][A-Za-z0-9_.@+\-]{0,127})?$"}
    )(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text=(
            "Your own id for the person (created on first use): 1-128 letters, digits, _ . @ + -, starting with a "
            "letter or digit. Empty, null or absent means the organization's default end user."
        ),
    )
    variations = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=4,
        help_text=(
            "1-4 generations of these inputs, each with a different seed (the first keeps `seed` if given), "
            "grouped and authorized together (402 for all when they do not all fit the limits). With this "
            "field the answer is a group object, not a generation. Seeds do not make results identical."
        ),
    )
    continue_from = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text=(
            "Continue this succeeded generation of yours: its last frame becomes the first frame (send no image "
            "then); resolution and aspect ratio default to its own. 404 if unknown, 409 if it has not succeeded."
        ),
    )


class GenerationCreateJsonSerializer(GenerationCreateSerializer):
    """A create as JSON: the first frame by `image_url` (uploads need multipart/form-data)."""

    image_url = https_url_field(
        max_length=MAX_URL_CHARS,
        checked_later=True,
        help_text="Public HTTPS URL of the first frame (JPEG, PNG or WebP, <= 30 MB).",
    )
    image = None
    end_image = None
    continue_from = None


class GenerationContinueJsonSerializer(GenerationCreateSerializer):
    """A create as JSON that continues a succeeded generation: its last frame is the first frame, so no
    `image_url`, and one clip at a time, so no `variations`."""

    continue_from = serializers.UUIDField(
        help_text=(
            "Continue this succeeded generation of yours: its last frame becomes the first frame; resolution and "
            "aspect ratio default to its own. 404 if unknown, 409 if it has not succeeded."
        ),
    )
    image_url = None
    image = None
    end_image = None
    variations = None


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
    poster_url = serializers.URLField(
        allow_null=True, help_text="A signed link to a WebP still of the video (like `video_url`); null until made."
    )
    duration_seconds = serializers.FloatField(allow_null=True, help_text="Measured length of the video.")
    error = GenerationErrorSerializer(allow_null=True)
    retry_of = serializers.UUIDField(allow_null=True)
    variation_group = serializers.UUIDField(allow_null=True, help_text="Set when made as one of several variations.")
    continues = serializers.UUIDField(
        allow_null=True, help_text="The generation whose last frame this one starts from (`continue_from`)."
    )
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


class GenerationFilterSerializer(StrictQueryMixin, serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.values, required=False)
    end_user_id = serializers.CharField(required=False, max_length=160)
    created_after = serializers.DateTimeField(required=False, help_text="ISO 8601; inclusive.")
    created_before = serializers.DateTimeField(required=False, help_text="ISO 8601; exclusive.")
