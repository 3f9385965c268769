"""The one JSON shape of a generation, shared by the partner API and partner webhooks."""

from __future__ import annotations

from generations.models import Generation
from generations.services import absolute_media_url

CURRENCY = "usd"


def _money(value) -> str | None:
    return None if value is None else f"{value:.4f}"


def generation_payload(generation: Generation) -> dict:
    """Money as decimal strings, times as ISO 8601 UTC, URLs absolute."""
    error = {"code": generation.error_code, "message": generation.error_message} if generation.error_code else None
    return {
        "id": str(generation.pk),
        "status": generation.status,
        "prompt": generation.prompt,
        "image_url": absolute_media_url(generation.image.name) if generation.image else generation.image_url,
        "end_image_url": (
            absolute_media_url(generation.end_image.name)
            if generation.end_image
            else (generation.end_image_url or None)
        ),
        "resolution": generation.resolution,
        "duration": generation.duration,
        "aspect_ratio": generation.aspect_ratio,
        "generate_audio": generation.generate_audio,
        "seed": generation.seed or None,
        "end_user_id": generation.end_user.external_id,
        "estimated_cost": _money(generation.estimated_cost),
        "cost": _money(generation.cost),
        "currency": CURRENCY,
        "video_url": absolute_media_url(generation.video.name) if generation.video else None,
        "duration_seconds": None if generation.duration_seconds is None else float(generation.duration_seconds),
        "error": error,
        "retry_of": str(generation.retry_of_id) if generation.retry_of_id else None,
        "created_at": generation.created_at.isoformat().replace("+00:00", "Z"),
        "completed_at": generation.completed_at.isoformat().replace("+00:00", "Z") if generation.completed_at else None,
    }
