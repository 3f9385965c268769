"""Renders the simulator's output: a small, real H.264/AAC MP4 moving from the first frame to the last."""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageOps

FPS = 12
HEIGHT_PX = 240
_TICKS_PER_FRAME = 1000  # the muxing clock: 1/12000 s, fine enough for millisecond lengths
AUDIO_RATE_HZ = 22_050
# The allowed aspect ratios of the contract, as width / height.
ASPECT_RATIOS = {"21:9": 21 / 9, "16:9": 16 / 9, "4:3": 4 / 3, "1:1": 1.0, "3:4": 3 / 4, "9:16": 9 / 16}
# Panning needs a little more picture than the frame shows.
_OVERSCAN = 1.08


@dataclass(frozen=True)
class VideoSpec:
    width: int
    height: int
    duration_s: float  # fractional lengths (5.042 s) render exactly, to the millisecond
    audio: bool

    @property
    def frame_count(self) -> int:
        return math.ceil(round(self.duration_s * FPS, 6))


def snap_aspect_ratio(width: int, height: int) -> str:
    """The allowed aspect ratio nearest to an image's (compared on a log scale, so 2:1 and 1:2 are symmetric)."""
    ratio = width / height
    return min(ASPECT_RATIOS, key=lambda name: abs(math.log(ASPECT_RATIOS[name] / ratio)))


def frame_size(aspect_ratio: str) -> tuple[int, int]:
    """Even width and height (H.264 with 4:2:0 needs both) about HEIGHT_PX tall."""
    width = max(2, round(HEIGHT_PX * ASPECT_RATIOS[aspect_ratio] / 2) * 2)
    return width, HEIGHT_PX


def auto_duration_s(key: str) -> int:
    """`auto` duration: 4..15 s, the same for the same input."""
    digest = hashlib.sha256(key.encode()).digest()
    return 4 + digest[0] % 12


def placeholder_image(seed_text: str, label: str) -> Image.Image:
    """A deterministic gradient with a caption, standing in for an image we may not fetch."""
    digest = hashlib.sha256(seed_text.encode()).digest()
    top = np.array(list(digest[0:3]), dtype=np.float32)
    bottom = np.array(list(digest[3:6]), dtype=np.float32)
    ramp = np.linspace(0.0, 1.0, 360, dtype=np.float32)[:, None, None]
    pixels = (top * (1 - ramp) + bottom * ramp).repeat(640, axis=1).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    ImageDraw.Draw(image).text((16, 16), label[:80], fill=(255, 255, 255))
    return image


def _cover(image: Image.Image, width: int, height: int) -> np.ndarray:
    fitted = ImageOps.fit(image.convert("RGB"), (width, height), method=Image.Resampling.BILINEAR)
    return np.asarray(fitted, dtype=np.uint16)


def _frames(first: Image.Image, last: Image.Image | None, spec: VideoSpec):
    big_w = round(spec.width * _OVERSCAN)
    big_h = round(spec.height * _OVERSCAN)
    start = _cover(first, big_w, big_h)
    end = _cover(last, big_w, big_h) if last is not None else start
    span_x, span_y = big_w - spec.width, big_h - spec.height
    count = spec.frame_count
    for index in range(count):
        progress = index / max(1, count - 1)
        # A slow diagonal pan stands in for camera motion; the cross-fade for the model's motion.
        x, y = round(span_x * progress), round(span_y * progress)
        start_crop = start[y : y + spec.height, x : x + spec.width]
        if last is None:
            yield start_crop.astype(np.uint8)
            continue
        # Integer blending (weights out of 256) is several times faster than float.
        weight = round(progress * 256)
        pixels = start_crop * (256 - weight) + end[y : y + spec.height, x : x + spec.width] * weight
        yield (pixels >> 8).astype(np.uint8)


def _tone(duration_s: float) -> np.ndarray:
    samples = np.arange(round(duration_s * AUDIO_RATE_HZ), dtype=np.float32) / AUDIO_RATE_HZ
    envelope = np.minimum(1.0, np.minimum(samples, duration_s - samples) * 4)  # fade in and out
    return (0.2 * envelope * np.sin(2 * np.pi * 220.0 * samples)).astype(np.float32)


def _write(path: Path, first: Image.Image, last: Image.Image | None, spec: VideoSpec) -> None:
    with av.open(str(path), mode="w", format="mp4") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = spec.width, spec.height, "yuv420p"
        video.time_base = Fraction(1, FPS)
        video.options = {"preset": "ultrafast", "crf": "28", "tune": "zerolatency"}
        audio = None
        if spec.audio:
            audio = container.add_stream("aac", rate=AUDIO_RATE_HZ, layout="mono")
            audio.options = {"aac_coder": "fast"}  # the default two-loop coder is several times slower
        packets = []
        for index, pixels in enumerate(_frames(first, last, spec)):
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = index
            packets += video.encode(frame)
        packets += video.encode()
        _mux_with_exact_end(container, packets, spec)
        if audio is not None:
            _write_audio(container, audio, spec.duration_s)


def _mux_with_exact_end(container, packets, spec: VideoSpec) -> None:
    """Mux the frames on a millisecond clock and shorten the last one, so the file lasts exactly duration_s."""
    fine = Fraction(1, FPS * _TICKS_PER_FRAME)
    end = round(spec.duration_s * FPS * _TICKS_PER_FRAME)
    last = spec.frame_count - 1
    for packet in packets:
        is_last = packet.pts == last
        packet.pts *= _TICKS_PER_FRAME
        packet.dts *= _TICKS_PER_FRAME
        packet.duration = end - packet.pts if is_last else _TICKS_PER_FRAME
        packet.time_base = fine
        container.mux(packet)


def _write_audio(container, stream, duration_s: float) -> None:
    samples = _tone(duration_s)
    chunk = 1024
    for offset in range(0, len(samples), chunk):
        frame = av.AudioFrame.from_ndarray(samples[None, offset : offset + chunk], format="fltp", layout="mono")
        frame.sample_rate = AUDIO_RATE_HZ
        frame.pts = offset
        container.mux(stream.encode(frame))
    container.mux(stream.encode())


def render_mp4(path: Path, *, first: Image.Image, last: Image.Image | None, spec: VideoSpec) -> Path:
    """Write the clip to `path` atomically (other processes may be reading or rendering the same id)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(suffix=".mp4", dir=path.parent)
    os.close(fd)
    try:
        _write(Path(tmp_name), first, last, spec)
        os.replace(tmp_name, path)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return path
