"""Frames read out of stored videos with PyAV: the last frame that a continuation starts from."""

from __future__ import annotations

import io
import tempfile

import av
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

# JPEG at this quality keeps a 720p frame well under a megabyte and shows no banding the model would copy.
JPEG_QUALITY = 92


class FrameUnreadable(Exception):
    """The stored file has no decodable video frame."""


def last_frame_jpeg(*, video_name: str) -> SimpleUploadedFile:
    """The last decodable frame of a stored video, as a JPEG upload named `frame.jpg`.

    The video is copied to a local temporary file first (storage may be S3, and PyAV seeks)."""
    with tempfile.NamedTemporaryFile(suffix=".mp4") as local:
        with default_storage.open(video_name, "rb") as stored:
            for chunk in iter(lambda: stored.read(1 << 20), b""):
                local.write(chunk)
        local.flush()
        image = _last_frame(local.name)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=JPEG_QUALITY)
    return SimpleUploadedFile("frame.jpg", buffer.getvalue(), content_type="image/jpeg")


def _last_frame(path: str):
    """Decode to the end: seeking to the last keyframe and decoding onward is exact but needs the index, and the
    clips are at most 15 s, so a straight decode is simple and fast enough."""
    last = None
    try:
        with av.open(path, mode="r") as container:
            if not container.streams.video:
                raise FrameUnreadable("The file has no video stream.")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                last = frame
            image = last.to_image() if last is not None else None
    except av.error.FFmpegError as error:
        raise FrameUnreadable(f"The video could not be decoded: {error}") from error
    if image is None:
        raise FrameUnreadable("The video has no frames.")
    return image
