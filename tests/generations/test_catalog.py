"""The input catalog: allowed values, image files judged by content, image URLs that the provider can fetch."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from generations.catalog import DURATIONS, MAX_IMAGE_BYTES, check_image, validate_inputs
from seedance_saas.errors import InvalidInput
from tests.images import image_bytes, png_claiming

URL = "https://images.example.com/frame.png"


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


def image_error(data: bytes) -> str:
    return errors_of(image=SimpleUploadedFile("frame.png", data))["image"][0]


def test_a_png_claiming_6000x6000_with_little_pixel_data_is_refused_from_its_header():
    assert "megapixels" in image_error(png_claiming(6000, 6000, pixel_data=b"\0" * 100))


@pytest.mark.parametrize(
    "size, fragment", [((6001, 100), "at most 6000 px"), ((100, 6001), "at most 6000 px"), ((31, 64), "at least 32 px")]
)
def test_sides_outside_the_limits_are_refused_from_the_header(size, fragment):
    assert fragment in image_error(png_claiming(*size))


def test_a_png_within_the_limits_but_short_of_pixel_data_is_refused_when_decoded():
    # 4000 x 4000 passes every header check; the full decode finds the pixels are not there.
    assert "could not be decoded" in image_error(png_claiming(4000, 4000, pixel_data=b"\0" * 100))


@pytest.mark.parametrize("pixel_data", [None, b""], ids=["no IDAT chunk", "empty IDAT chunk"])
def test_a_png_without_pixel_data_is_refused_not_an_error(pixel_data):
    assert "could not be decoded" in image_error(png_claiming(64, 64, pixel_data=pixel_data))


def test_a_decompression_bomb_is_refused():
    assert "too many pixels" in image_error(png_claiming(30000, 30000))


def test_a_decompression_bomb_warning_becomes_a_refusal(settings):
    # With our own limits raised past Pillow's warning level (89.5 MP), Pillow's warning still refuses it.
    settings.UPLOAD_IMAGE_MAX_SIDE_PX, settings.UPLOAD_IMAGE_MAX_PIXELS = 20000, 150_000_000
    assert "too many pixels" in image_error(png_claiming(10000, 9500))


@pytest.mark.parametrize("size", [(32, 32), (6000, 2796), (4096, 4096)])
def test_images_at_the_limits_are_accepted(size):
    checked = check_image(SimpleUploadedFile("frame.png", image_bytes("PNG", size)))
    assert (checked.width, checked.height, checked.extension) == (*size, "png")


def test_limits_are_settings(settings):
    settings.UPLOAD_IMAGE_MIN_SIDE_PX = 100
    assert "at least 100 px" in image_error(image_bytes("PNG", (64, 36)))


def test_upload_and_url_together_are_refused():
    fields = errors_of(image=SimpleUploadedFile("a.png", image_bytes()), image_url=URL)
    assert "not both" in fields["image_url"][0]
