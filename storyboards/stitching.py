"""Stitch shot clips into one film with continuous audio, using the ffmpeg binary imageio-ffmpeg ships.

Each clip is normalized in one filter graph (same size, frame rate, pixel format, sample rate and channel layout;
a clip without audio gets silence of its own length) and the normalized clips are concatenated; PyAV probes."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import av
import imageio_ffmpeg

FPS = 24
AUDIO_RATE_HZ = 48000
STITCH_TIMEOUT_S = 600


class StitchError(Exception):
    """A clip could not be read or ffmpeg refused; the message says which."""


@dataclass(frozen=True)
class Probe:
    width: int
    height: int
    duration_s: float
    has_audio: bool


def probe(path: Path) -> Probe:
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.video:
                raise StitchError(f"{path.name} has no video stream.")
            stream = container.streams.video[0]
            if container.duration:
                duration_s = container.duration / av.time_base
            elif stream.duration and stream.time_base:
                duration_s = float(stream.duration * stream.time_base)
            else:
                raise StitchError(f"{path.name} has no duration.")
            return Probe(
                width=stream.codec_context.width,
                height=stream.codec_context.height,
                duration_s=float(duration_s),
                has_audio=bool(container.streams.audio),
            )
    except av.error.FFmpegError as error:
        raise StitchError(f"{path.name} is not a readable video: {error}") from error


def video_duration_s(path: Path) -> float:
    """The film's length as its video stream says (what a player shows)."""
    with av.open(str(path), mode="r") as container:
        stream = container.streams.video[0]
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
        return container.duration / av.time_base


def _even(value: int) -> int:
    return value - value % 2


def _command(clips: list[Path], probes: list[Probe], output: Path) -> list[str]:
    width, height = _even(probes[0].width), _even(probes[0].height)
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    audio_inputs: list[str] = []
    for clip in clips:
        command += ["-i", str(clip)]
    next_input = len(clips)
    for index, info in enumerate(probes):
        if info.has_audio:
            audio_inputs.append(f"[{index}:a:0]")
        else:
            command += ["-f", "lavfi", "-t", f"{info.duration_s:.6f}", "-i", f"anullsrc=r={AUDIO_RATE_HZ}:cl=stereo"]
            audio_inputs.append(f"[{next_input}:a:0]")
            next_input += 1
    parts: list[str] = []
    for index, info in enumerate(probes):
        seconds = f"{info.duration_s:.6f}"
        parts.append(
            f"[{index}:v:0]scale={width}:{height}:force_original_aspect_ratio=decrease,"
            f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={FPS},format=yuv420p,"
            f"trim=duration={seconds},setpts=PTS-STARTPTS[v{index}]"
        )
        parts.append(
            f"{audio_inputs[index]}aresample={AUDIO_RATE_HZ},aformat=sample_fmts=fltp:channel_layouts=stereo,"
            f"apad=whole_dur={seconds},atrim=duration={seconds},asetpts=PTS-STARTPTS[a{index}]"
        )
    pairs = "".join(f"[v{i}][a{i}]" for i in range(len(probes)))
    parts.append(f"{pairs}concat=n={len(probes)}:v=1:a=1[v][a]")
    command += ["-filter_complex", ";".join(parts), "-map", "[v]", "-map", "[a]"]
    command += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-c:a", "aac", "-b:a", "128k"]
    command += ["-movflags", "+faststart", str(output)]
    return command


def stitch(*, clips: list[Path], output: Path) -> float:
    """Write the film to `output`; returns its duration in seconds (the video stream's, probed with PyAV)."""
    if not clips:
        raise StitchError("There is nothing to stitch.")
    probes = [probe(clip) for clip in clips]
    try:
        subprocess.run(_command(clips, probes, output), check=True, capture_output=True, timeout=STITCH_TIMEOUT_S)
    except subprocess.CalledProcessError as error:
        tail = error.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise StitchError("ffmpeg could not stitch the shots: " + " | ".join(tail)) from error
    except subprocess.TimeoutExpired as error:
        raise StitchError(f"Stitching took longer than {STITCH_TIMEOUT_S} s.") from error
    return video_duration_s(output)


def poster_jpeg(*, film: Path, output: Path) -> None:
    """The film's first frame as a JPEG, shown before it plays."""
    with av.open(str(film), mode="r") as container:
        for frame in container.decode(video=0):
            frame.to_image().convert("RGB").save(output, "JPEG", quality=88)
            return
    raise StitchError("The film has no frame for a poster.")
