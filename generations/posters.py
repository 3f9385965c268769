"""Posters: one still frame a little into each succeeded video, stored as WebP beside it."""

from __future__ import annotations

import io
import logging
import secrets

import av
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from generations.models import Generation, Status

logger = logging.getLogger(__name__)

# "A little into the clip": past a fade-in or a black first frame, but well inside even a 4 s clip.
POSTER_AT_S = 1.0
POSTER_AT_FRACTION = 0.2
POSTER_MAX_WIDTH = 960
POSTER_QUALITY = 80


def poster_bytes(file) -> bytes:
    """A WebP of the frame at min(1 s, 20 % of the clip); raises av/PIL errors on an unreadable video."""
    file.seek(0)
    with av.open(file, mode="r") as container:
        stream = container.streams.video[0]
        seconds = container.duration / av.time_base if container.duration else 0.0
        target_s = min(POSTER_AT_S, seconds * POSTER_AT_FRACTION) if seconds else 0.0
        chosen = None
        for frame in container.decode(stream):
            chosen = frame
            if frame.time is not None and frame.time >= target_s:
                break
        if chosen is None:
            raise ValueError("the video has no frames")
        image = chosen.to_image()
    if image.width > POSTER_MAX_WIDTH:
        image = image.resize((POSTER_MAX_WIDTH, round(image.height * POSTER_MAX_WIDTH / image.width)))
    out = io.BytesIO()
    image.save(out, "WEBP", quality=POSTER_QUALITY)
    return out.getvalue()


def poster_create(*, generation: Generation) -> str:
    """Makes and stores the poster of a succeeded generation's video; returns its storage name. Raises on failure."""
    if generation.status != Status.SUCCEEDED or not generation.video:
        raise ValueError(f"generation {generation.pk} has no stored video")
    with default_storage.open(generation.video.name, "rb") as handle:
        data = poster_bytes(handle)
    name = default_storage.save(_poster_name(generation.organization_id), ContentFile(data))
    updated = Generation.objects.filter(pk=generation.pk, poster="").update(poster=name)
    if not updated:  # another worker (or the backfill) got there first
        default_storage.delete(name)
        generation.refresh_from_db(fields=["poster"])
        return generation.poster.name
    generation.poster.name = name
    return name


def _poster_name(organization_id: int) -> str:
    return f"generations/posters/{organization_id}/{secrets.token_hex(16)}.webp"


def poster_store_quietly(*, video_file, generation: Generation) -> str:
    """The finishing step's hook, before success commits (so the success webhook carries the poster):
    the poster of the video just downloaded, stored; "" when it cannot be made. A poster is a nicety, so its
    failure is logged and never fails the generation."""
    try:
        data = poster_bytes(video_file)
        return default_storage.save(_poster_name(generation.organization_id), ContentFile(data))
    except Exception:  # noqa: BLE001 -- any failure here must leave the generation's success alone
        logger.warning("poster not made for generation %s", generation.pk, exc_info=True)
        return ""
    finally:
        video_file.seek(0)


def posters_missing():
    """Succeeded generations with a video and no poster, oldest first (for the backfill)."""
    return Generation.objects.filter(status=Status.SUCCEEDED, poster="").exclude(video="").order_by("completed_at")


def posters_backfill(*, limit: int | None = None) -> tuple[int, int]:
    """Makes missing posters; returns (made, failed). Failures are logged and left for the next run."""
    made = failed = 0
    candidates = posters_missing()
    if limit is not None:
        candidates = candidates[:limit]
    for generation in candidates.iterator():
        try:
            poster_create(generation=generation)
        except Exception:  # noqa: BLE001 -- one broken video must not stop the backfill
            logger.warning("poster backfill failed for generation %s", generation.pk, exc_info=True)
            failed += 1
        else:
            made += 1
    return made, failed
