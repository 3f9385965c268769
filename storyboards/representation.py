"""The one shape of a storyboard in the API and in partner webhooks."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from billing.prices import CURRENCY
from generations.media_links import MediaLink
from storyboards.models import Storyboard


def _money(value) -> str | None:
    return None if value is None else f"{value:.4f}"


def storyboard_payload(storyboard: Storyboard, *, shots, link_for: Callable[[str], MediaLink]) -> dict:
    links: list[MediaLink] = []

    def stored(field_file) -> str | None:
        if not field_file:
            return None
        link = link_for(field_file.name)
        links.append(link)
        return link.url

    def shot_payload(shot) -> dict:
        generation = shot.generation
        return {
            "position": shot.position,
            "status": shot.status,
            "prompt": shot.prompt,
            "duration": shot.duration,
            "continue_previous": shot.continue_previous,
            "image_url": stored(shot.image) or shot.image_url or None,
            "generation_id": str(generation.pk) if generation else None,
            "video_url": stored(generation.video) if generation and generation.video else None,
            "duration_seconds": float(generation.duration_seconds)
            if generation and generation.duration_seconds
            else None,
            "cost": _money(generation.cost) if generation else None,
            "attempts": shot.attempts,
            "error": {"code": shot.error_code, "message": shot.error_message} if shot.error_code else None,
        }

    shot_list = [shot_payload(s) for s in shots]
    costs = [s.generation.cost for s in shots if s.generation is not None and s.generation.cost is not None]
    payload = {
        "id": str(storyboard.pk),
        "status": storyboard.status,
        "title": storyboard.title,
        "resolution": storyboard.resolution,
        "aspect_ratio": storyboard.aspect_ratio,
        "generate_audio": storyboard.generate_audio,
        "end_user_id": storyboard.end_user.external_id,
        "estimated_cost": _money(storyboard.estimated_cost),
        "cost": _money(sum(costs, Decimal(0))) if costs else None,
        "currency": CURRENCY,
        "film_url": stored(storyboard.film),
        "poster_url": stored(storyboard.poster),
        "duration_seconds": float(storyboard.duration_seconds) if storyboard.duration_seconds is not None else None,
        "error": {"code": storyboard.error_code, "message": storyboard.error_message}
        if storyboard.error_code
        else None,
        "shots": shot_list,
        "created_at": storyboard.created_at.isoformat().replace("+00:00", "Z") if storyboard.created_at else None,
        "completed_at": storyboard.completed_at.isoformat().replace("+00:00", "Z") if storyboard.completed_at else None,
    }
    payload["media_expires_at"] = (
        min(link.expires_at for link in links).isoformat().replace("+00:00", "Z") if links else None
    )
    return payload
