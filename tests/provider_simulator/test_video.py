"""The simulator's outputs are real MP4s: duration, audio, aspect ratio, first and last frame."""

import io
import time

import av
import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from generations.eachlabs.client import PredictionInput, get_client
from provider_simulator.video import ASPECT_RATIOS


def media_image(settings, name, size, color, fmt="PNG") -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    stored = default_storage.save(name, ContentFile(buffer.getvalue()))
    return f"{settings.SITE_URL}{settings.MEDIA_URL}{stored}"


def render(simulator, tmp_path, **fields) -> av.container.InputContainer:
    client = get_client()
    inputs = {"prompt": "a cat", "image_url": "https://images.example.com/cat.png", **fields}
    prediction_id = client.create_prediction(PredictionInput(**inputs))
    simulator.advance(simulator.config.latency_s)
    path = tmp_path / f"{prediction_id}.mp4"
    with path.open("wb") as handle:
        client.download_output(client.get_prediction(prediction_id).output, handle, max_bytes=10**8)
    return av.open(str(path))


def duration_s(container) -> float:
    return container.duration / av.time_base


@pytest.mark.parametrize("seconds", [4, 5, 9, 15])
def test_duration_is_the_requested_one(simulator, tmp_path, seconds):
    with render(simulator, tmp_path, duration=seconds, generate_audio=True) as container:
        assert abs(duration_s(container) - seconds) < 0.1
        video = container.streams.video[0]
        assert video.codec_context.name == "h264"
        assert abs(float(video.duration * video.time_base) - seconds) < 0.1
        assert sum(1 for _ in container.decode(video=0)) == seconds * 12


def test_audio_track_only_when_asked(simulator, tmp_path):
    with render(simulator, tmp_path, duration=4, generate_audio=True) as container:
        [audio] = container.streams.audio
        assert audio.codec_context.name == "aac"
        assert abs(float(audio.duration * audio.time_base) - 4) < 0.1
    with render(simulator, tmp_path, duration=4, generate_audio=False) as container:
        assert len(container.streams.audio) == 0


def test_audio_is_on_by_default(simulator, tmp_path):
    with render(simulator, tmp_path, duration=4) as container:
        assert len(container.streams.audio) == 1


@pytest.mark.parametrize("ratio", sorted(ASPECT_RATIOS))
def test_aspect_ratio_is_the_requested_one(simulator, tmp_path, ratio):
    with render(simulator, tmp_path, duration=4, aspect_ratio=ratio) as container:
        video = container.streams.video[0]
        assert video.height == 240 and video.width % 2 == 0
        assert abs(video.width / video.height - ASPECT_RATIOS[ratio]) < 0.02


def test_auto_aspect_ratio_follows_the_image(simulator, tmp_path, settings):
    portrait = media_image(settings, "frames/portrait.jpg", (500, 880), (200, 30, 30), fmt="JPEG")
    with render(simulator, tmp_path, image_url=portrait, duration=4, aspect_ratio="auto") as container:
        video = container.streams.video[0]
        assert abs(video.width / video.height - 9 / 16) < 0.02
    square = media_image(settings, "frames/square.webp", (300, 290), (30, 30, 200), fmt="WEBP")
    with render(simulator, tmp_path, image_url=square, duration=4) as container:
        assert container.streams.video[0].width == 240


def test_auto_duration_is_4_to_15_and_stable_for_the_same_input(simulator, tmp_path):
    lengths = []
    for prompt in ("one", "two", "three"):
        for _ in range(2):
            with render(simulator, tmp_path, prompt=prompt, duration="auto", generate_audio=False) as container:
                lengths.append(duration_s(container))
    assert all(4 <= length <= 15.05 for length in lengths)
    assert all(abs(length - round(length)) < 0.1 for length in lengths)
    assert lengths[0::2] == lengths[1::2]


def test_video_starts_on_the_first_frame_and_ends_on_the_last(simulator, tmp_path, settings):
    first = media_image(settings, "frames/red.png", (640, 360), (220, 20, 20))
    last = media_image(settings, "frames/blue.png", (640, 360), (20, 20, 220))
    with render(simulator, tmp_path, image_url=first, end_image_url=last, duration=4) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    start, end = frames[0].reshape(-1, 3).mean(axis=0), frames[-1].reshape(-1, 3).mean(axis=0)
    assert start[0] > 180 and start[2] < 60
    assert end[2] > 180 and end[0] < 60
    assert np.abs(frames[len(frames) // 2].astype(int) - frames[0].astype(int)).mean() > 20  # it moves


def test_without_a_last_frame_the_first_frame_pans(simulator, tmp_path, settings):
    gradient = np.tile(np.linspace(0, 255, 640, dtype=np.uint8)[None, :, None], (360, 1, 3))
    buffer = io.BytesIO()
    Image.fromarray(gradient).save(buffer, "PNG")
    url = (
        f"{settings.SITE_URL}{settings.MEDIA_URL}{default_storage.save('frames/g.png', ContentFile(buffer.getvalue()))}"
    )
    with render(simulator, tmp_path, image_url=url, duration=4, aspect_ratio="16:9") as container:
        frames = [frame.to_ndarray(format="rgb24").astype(int) for frame in container.decode(video=0)]
    assert np.abs(frames[-1] - frames[0]).mean() > 3


def test_a_clip_renders_well_under_a_second(simulator, tmp_path):
    simulator.config.concurrency_limit = 100
    client = get_client()
    ids = [
        client.create_prediction(
            PredictionInput(prompt=f"p{n}", image_url="https://images.example.com/a.png", duration=d, aspect_ratio=r)
        )
        for n, (d, r) in enumerate([(5, "16:9"), (10, "9:16"), (15, "21:9")])
    ]
    simulator.advance(simulator.config.latency_s)
    for prediction_id in ids:
        # CPU time, not wall time, so a loaded CI machine does not make this flaky; typically 0.2-0.5 s.
        started = time.process_time()
        assert simulator.output_file(prediction_id).stat().st_size > 1000
        assert time.process_time() - started < 1.0


@pytest.mark.parametrize("audio", [True, False])
def test_fractional_lengths_render_to_the_millisecond(simulator, tmp_path, audio):
    simulator.config.auto_duration_s = 5.042
    with render(simulator, tmp_path, duration="auto", generate_audio=audio) as container:
        assert abs(duration_s(container) - 5.042) < 0.002
        assert sum(1 for _ in container.decode(video=0)) == 61  # 5.042 s at 12 fps: 60 whole frames and a short one


def test_auto_lengths_run_a_hair_past_whole_seconds_like_the_real_model(simulator, tmp_path):
    with render(simulator, tmp_path, prompt="one", duration="auto", generate_audio=False) as container:
        length = duration_s(container)
    assert abs(length - round(length) - 0.042) < 0.002
