"""The one JSON shape of a generation, shared by the partner API and partner webhooks."""

from __future__ import annotations

from collections.abc import Callable

from generations.media_links import MediaLink
from generations.models import Generation

CURRENCY = "usd"


def _money(value) -> str | None:
    return None if value is None else f"{value:.4f}"


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


# Every column generation_payload reads: the API loads only these (one query a page, no deferred-field loads).
# A field added to the payload must be added here, or each row costs a query (tests/api/test_read_queries.py).
PAYLOAD_FIELDS = (
    "id",
    "status",
    "prompt",
    "image",
    "image_url",
    "end_image",
    "end_image_url",
    "resolution",
    "duration",
    "aspect_ratio",
    "generate_audio",
    "seed",
    "end_user__external_id",
    "estimated_cost",
    "cost",
    "video",
    "duration_seconds",
    "error_code",
    "error_message",
    "retry_of_id",
    "variation_group",
    "continues_id",
    "poster",
    "created_at",
    "submitted_at",
    "provider_completed_at",
    "completed_at",
)


def generation_payload(generation: Generation, *, link_for: Callable[[str], MediaLink], estimate=None) -> dict:
    """Money as decimal strings, times as ISO 8601 UTC, URLs absolute.

    `estimate` (generations.queue_estimates.Estimate) fills the queue fields; without one they are null
    (partner webhooks, sent when a job ends, carry none).

    `link_for(stored_name)` issues a fresh signed link to a file we store (frames uploaded, the video);
    `media_expires_at` says when those links stop working (null when there are none).
    """
    links: list[MediaLink] = []

    def stored(field_file) -> str | None:
        if not field_file:
            return None
        link = link_for(field_file.name)
        links.append(link)
        return link.url

    error = {"code": generation.error_code, "message": generation.error_message} if generation.error_code else None
    payload = {
        "id": str(generation.pk),
        "status": generation.status,
        "prompt": generation.prompt,
        "image_url": stored(generation.image) or generation.image_url,
        "end_image_url": stored(generation.end_image) or generation.end_image_url or None,
        "resolution": generation.resolution,
        "duration": generation.duration,
        "aspect_ratio": generation.aspect_ratio,
        "generate_audio": generation.generate_audio,
        "seed": generation.seed or None,
        "end_user_id": generation.end_user.external_id,
        "estimated_cost": _money(generation.estimated_cost),
        "cost": _money(generation.cost),
        "currency": CURRENCY,
        "video_url": stored(generation.video),
        "poster_url": stored(generation.poster),
        "duration_seconds": None if generation.duration_seconds is None else float(generation.duration_seconds),
        "error": error,
        "retry_of": str(generation.retry_of_id) if generation.retry_of_id else None,
        "variation_group": str(generation.variation_group) if generation.variation_group else None,
        "continues": str(generation.continues_id) if generation.continues_id else None,
        "created_at": _iso(generation.created_at),
        "completed_at": _iso(generation.completed_at),
        "queue_position": getattr(estimate, "queue_position", None),
        "estimated_start_at": _iso(getattr(estimate, "estimated_start_at", None)),
        "estimated_finish_at": _iso(getattr(estimate, "estimated_finish_at", None)),
    }
    payload["media_expires_at"] = _iso(min(link.expires_at for link in links)) if links else None
    return payload
