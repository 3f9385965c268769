"""Stitch a storyboard whose shots have all succeeded into its film and poster (a task: ffmpeg takes seconds)."""

from __future__ import annotations

import logging
import tempfile
import uuid
from decimal import Decimal
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage

from storyboards import stitching
from storyboards.models import Storyboard, StoryboardStatus
from storyboards.services import storyboard_end

logger = logging.getLogger(__name__)


def storyboard_stitch(*, storyboard_id: uuid.UUID | str) -> Storyboard:
    """Join the shots' stored videos into the film and its poster (a task: ffmpeg takes seconds). Free of charge."""
    storyboard = Storyboard.objects.select_related("organization").get(pk=storyboard_id)
    if storyboard.status != StoryboardStatus.STITCHING:
        return storyboard
    shots = list(storyboard.shots.select_related("generation"))
    with tempfile.TemporaryDirectory(prefix="stitch-") as work:
        work_dir = Path(work)
        clips = []
        for shot in shots:
            clip = work_dir / f"shot-{shot.position}.mp4"
            with default_storage.open(shot.generation.video.name, "rb") as stored, open(clip, "wb") as local:
                for chunk in iter(lambda: stored.read(1 << 20), b""):  # noqa: B023 -- used at once
                    local.write(chunk)
            clips.append(clip)
        film_path, poster_path = work_dir / "film.mp4", work_dir / "poster.jpg"
        try:
            seconds = stitching.stitch(clips=clips, output=film_path)
            stitching.poster_jpeg(film=film_path, output=poster_path)
        except stitching.StitchError as error:
            logger.error("storyboard %s could not be stitched: %s", storyboard.pk, error)
            storyboard_end(
                storyboard,
                status=StoryboardStatus.FAILED,
                from_=StoryboardStatus.STITCHING,
                error_code="stitch_failed",
                error_message=f"The shots could not be joined: {error}",
            )
            return storyboard
        folder = f"storyboards/films/{storyboard.organization_id}/{uuid.uuid4().hex}"
        with open(film_path, "rb") as film:
            film_name = default_storage.save(f"{folder}/film.mp4", File(film))
        with open(poster_path, "rb") as poster:
            poster_name = default_storage.save(f"{folder}/poster.jpg", File(poster))
    duration = Decimal(str(seconds)).quantize(Decimal("0.001"))
    if not storyboard_end(
        storyboard,
        status=StoryboardStatus.SUCCEEDED,
        from_=StoryboardStatus.STITCHING,
        film=film_name,
        poster=poster_name,
        duration_seconds=duration,
    ):
        default_storage.delete(film_name)
        default_storage.delete(poster_name)
    return storyboard
