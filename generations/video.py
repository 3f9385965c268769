"""Reading facts from video files (PyAV ships its own FFmpeg)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import BinaryIO

import av


def duration_seconds(file: BinaryIO) -> Decimal | None:
    """The playable length of an MP4 in seconds (3 decimals), or None when it is not a readable video."""
    file.seek(0)
    try:
        with av.open(file, mode="r") as container:
            if not container.streams.video:
                return None
            seconds = _container_seconds(container)
    except (av.error.FFmpegError, ValueError, OSError):
        return None
    finally:
        file.seek(0)
    if seconds is None or seconds <= 0:
        return None
    return Decimal(str(seconds)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def _container_seconds(container) -> float | None:
    if container.duration:
        return container.duration / av.time_base
    stream = container.streams.video[0]
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return None
