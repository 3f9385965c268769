"""The input catalog: allowed values, image files judged by content, image URLs that the provider can fetch."""

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from generations.catalog import DURATIONS, MAX_IMAGE_BYTES, validate_inputs
from seedance_saas.errors import InvalidInput

URL = "https://images.example.com/frame.png"


def image_bytes(fmt="PNG", size=(32, 18)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, fmt)
    return buffer.getvalue()


def errors_of(**kwargs) -> dict:
    kwargs.setdefault("prompt", "waves roll in")
    with pytest.raises(InvalidInput) as error:
        validate_inputs(**kwargs)
    return error.value.fields


def test_defaults_are_made_explicit():
    inputs = validate_inputs(prompt="  waves  ", image_url=URL)
    assert (inputs.prompt, inputs.resolution, inputs.duration, inputs.aspect_ratio, inputs.generate_audio) == (
        "waves",
        "720p",
        "auto",
        "auto",
        True,
    )
    assert inputs.fixed_duration_s is None


@pytest.mark.parametrize("duration", DURATIONS)
def test_every_allowed_duration(duration):
    assert validate_inputs(prompt="p", image_url=URL, duration=duration).duration == duration


@pytest.mark.parametrize("duration", ["3", "16", "0", "5.5", "ten", -4])
def test_durations_out_of_range(duration):
    assert "duration" in errors_of(image_url=URL, duration=duration)


def test_integer_duration_is_accepted():
    assert validate_inputs(prompt="p", image_url=URL, duration=7).fixed_duration_s == 7


@pytest.mark.parametrize("ratio", ["auto", "21:9", "16:9", "4:3", "1:1", "3:4", "9:16"])
def test_every_aspect_ratio(ratio):
    assert validate_inputs(prompt="p", image_url=URL, aspect_ratio=ratio).aspect_ratio == ratio


def test_unknown_aspect_ratio_and_resolution():
    fields = errors_of(image_url=URL, aspect_ratio="2:1", resolution="4k")
    assert set(fields) == {"aspect_ratio", "resolution"}


def test_1080p_only_when_enabled(settings):
    settings.SEEDANCE_ENABLE_1080P = False
    assert "not available" in errors_of(image_url=URL, resolution="1080p")["resolution"][0]
    settings.SEEDANCE_ENABLE_1080P = True
    assert validate_inputs(prompt="p", image_url=URL, resolution="1080p").resolution == "1080p"


def test_every_bad_field_gets_its_own_message():
    fields = errors_of(
        prompt="", image_url="http://x.com/a.png", end_image_url="data:image/png;base64,AAA", seed="9" * 40
    )
    assert set(fields) == {"prompt", "image_url", "end_image_url", "seed"}


def test_a_first_frame_is_required():
    assert "image_url" in errors_of()


def test_generate_audio_must_be_boolean():
    assert "generate_audio" in errors_of(image_url=URL, generate_audio="yes")


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("http://example.com/a.png", "https://"),
        ("https://user:pw@example.com/a.png", "user name"),
        ("https://localhost/a.png", "local"),
        ("https://127.0.0.1/a.png", "private"),
        ("https://10.1.2.3/a.png", "private"),
        ("https://192.168.0.5/a.png", "private"),
        ("https://169.254.169.254/latest", "link-local"),
        ("https://[::1]/a.png", "private"),
        ("https://printer.local/a.png", "local"),
        ("data:image/png;base64,AAAA", "Data URIs"),
        ("https://example.com:99999/a.png", "valid URL"),
        ("https:///a.png", "no host"),
    ],
)
def test_bad_image_urls(url, fragment):
    assert fragment in errors_of(image_url=url)["image_url"][0]


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_uploaded_images_by_content(fmt):
    upload = SimpleUploadedFile("frame.bin", image_bytes(fmt))
    assert validate_inputs(prompt="p", image=upload).image_url == ""


def test_upload_with_image_extension_but_other_content_is_refused():
    fields = errors_of(image=SimpleUploadedFile("frame.png", b"GIF89a not really"))
    assert "not a readable image" in fields["image"][0]


def test_gif_is_refused_by_format():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "GIF")
    assert "not supported" in errors_of(image=SimpleUploadedFile("a.gif", buffer.getvalue()))["image"][0]


def test_too_large_upload_is_refused():
    upload = SimpleUploadedFile("big.png", image_bytes())
    upload.size = MAX_IMAGE_BYTES + 1
    assert "30 MB" in errors_of(image=upload)["image"][0]


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a size without carrying the pixels: what a decompression bomb looks like from outside."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_huge_pixel_count_is_refused_before_decoding():
    fields = errors_of(image=SimpleUploadedFile("big.png", png_header_only(8000, 8000)))
    assert "megapixels" in fields["image"][0]


def test_decompression_bomb_is_refused():
    fields = errors_of(image=SimpleUploadedFile("bomb.png", png_header_only(30000, 30000)))
    assert "not a readable image" in fields["image"][0]


def test_upload_and_url_together_are_refused():
    fields = errors_of(image=SimpleUploadedFile("a.png", image_bytes()), image_url=URL)
    assert "not both" in fields["image_url"][0]
