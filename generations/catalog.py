"""The one catalog of allowed inputs, shared by the browser, the API and the admin."""

from __future__ import annotations

import ipaddress
import warnings
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from PIL import Image

from billing import prices
from seedance_saas.errors import InvalidInput

# Resolutions and the duration range are the price book's; the catalog adds what the provider accepts.
RESOLUTIONS = prices.RESOLUTIONS
DEFAULT_RESOLUTION = prices.DEFAULT_RESOLUTION
MIN_DURATION_S = prices.MIN_SECONDS
MAX_DURATION_S = prices.MAX_SECONDS
AUTO = prices.AUTO
DURATIONS = (AUTO, *(str(n) for n in range(MIN_DURATION_S, MAX_DURATION_S + 1)))
ASPECT_RATIOS = ("auto", "21:9", "16:9", "4:3", "1:1", "3:4", "9:16")
MAX_IMAGE_BYTES = 30 * 1024 * 1024
IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# Stored copies are named by the detected format only (never the uploader's name), so media is served as an image.
IMAGE_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MAX_PROMPT_CHARS = 2000
MAX_SEED_CHARS = 32
LOCAL_HOSTNAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


@dataclass(frozen=True)
class GenerationInputs:
    """Validated, normalized inputs of one generation (every default made explicit)."""

    prompt: str
    resolution: str = DEFAULT_RESOLUTION
    duration: str = AUTO
    aspect_ratio: str = "auto"
    generate_audio: bool = True
    seed: str = ""
    image_url: str = ""
    end_image_url: str = ""

    @property
    def fixed_duration_s(self) -> int | None:
        return None if self.duration == AUTO else int(self.duration)


def allowed_resolutions() -> tuple[str, ...]:
    return RESOLUTIONS if settings.SEEDANCE_ENABLE_1080P else RESOLUTIONS[:2]


def validate_inputs(
    *,
    prompt: str | None,
    resolution: str | None = None,
    duration: str | int | None = None,
    aspect_ratio: str | None = None,
    generate_audio: bool | None = None,
    seed: str | int | None = None,
    image_url: str | None = None,
    end_image_url: str | None = None,
    image: UploadedFile | None = None,
    end_image: UploadedFile | None = None,
) -> GenerationInputs:
    """Checks every field and raises one InvalidInput naming each bad field, or returns normalized inputs."""
    errors: dict[str, list[str]] = {}

    def fail(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    prompt = (prompt or "").strip()
    if not prompt:
        fail("prompt", "Describe the motion, action, dialogue or camera in a prompt.")
    elif len(prompt) > MAX_PROMPT_CHARS:
        fail("prompt", f"Keep the prompt under {MAX_PROMPT_CHARS} characters (it has {len(prompt)}).")

    resolution = resolution or DEFAULT_RESOLUTION
    if resolution not in allowed_resolutions():
        if resolution == "1080p":
            fail("resolution", "1080p is not available yet; choose 480p or 720p.")
        else:
            fail("resolution", f"Choose one of {', '.join(allowed_resolutions())}.")

    duration = AUTO if duration in (None, "") else str(duration).strip()
    if duration not in DURATIONS:
        fail("duration", f"Choose 'auto' or a whole number of seconds from {MIN_DURATION_S} to {MAX_DURATION_S}.")

    aspect_ratio = aspect_ratio or "auto"
    if aspect_ratio not in ASPECT_RATIOS:
        fail("aspect_ratio", f"Choose one of {', '.join(ASPECT_RATIOS)}.")

    if generate_audio is None:
        generate_audio = True
    elif not isinstance(generate_audio, bool):
        fail("generate_audio", "Use true or false.")

    seed = "" if seed is None else str(seed).strip()
    if len(seed) > MAX_SEED_CHARS:
        fail("seed", f"Keep the seed under {MAX_SEED_CHARS} characters.")

    _check_frame("image", "image_url", image, image_url, required=True, fail=fail)
    _check_frame("end_image", "end_image_url", end_image, end_image_url, required=False, fail=fail)

    if errors:
        raise InvalidInput(
            "Some fields are not valid: " + "; ".join(f"{k}: {v[0]}" for k, v in errors.items()), fields=errors
        )
    return GenerationInputs(
        prompt=prompt,
        resolution=resolution,
        duration=duration,
        aspect_ratio=aspect_ratio,
        generate_audio=generate_audio,
        seed=seed,
        image_url=(image_url or "").strip() if image is None else "",
        end_image_url=(end_image_url or "").strip() if end_image is None else "",
    )


def _check_frame(file_field, url_field, upload, url, *, required, fail) -> None:
    url = (url or "").strip()
    if upload is not None and url:
        fail(url_field, f"Send either an uploaded {file_field.replace('_', ' ')} or {url_field}, not both.")
        return
    if upload is not None:
        message = image_file_error(upload)
        if message:
            fail(file_field, message)
    elif url:
        message = image_url_error(url)
        if message:
            fail(url_field, message)
    elif required:
        fail(url_field, "Give the first frame: upload an image or send a public HTTPS image_url.")


# Pillow's refusal of a huge image, and its warning (made an error while we check) for a merely large one.
_BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)


class ImageRejected(ValueError):
    """An upload that cannot be a frame; the message says why, for the person who sent it."""


@dataclass(frozen=True)
class CheckedImage:
    """An upload that decoded completely within the size limits."""

    format: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return IMAGE_EXTENSIONS[self.format]


def max_image_bytes() -> int:
    """The largest frame we take: our setting, never above the provider's 30 MB."""
    return min(settings.UPLOAD_MAX_FILE_BYTES, MAX_IMAGE_BYTES)


def check_image(upload: UploadedFile) -> CheckedImage:
    """Judges an upload by its content: format and dimensions from the header, then a full, bounded decode.

    Raises ImageRejected. The header is checked before a pixel is decoded, so decoding never takes more than
    UPLOAD_IMAGE_MAX_PIXELS x 4 bytes; the full decode then catches files whose pixel data is short or missing.
    """
    max_bytes = max_image_bytes()
    if upload.size is not None and upload.size > max_bytes:
        raise ImageRejected(f"The image is {upload.size / 1024 / 1024:.1f} MB; the limit is {max_bytes // 2**20} MB.")
    if upload.size == 0:
        raise ImageRejected("The image file is empty.")
    upload.seek(0)
    try:
        # catch_warnings is process-wide: a thread checking at the same moment may miss the "error" filter,
        # which is harmless, since our own pixel limit sits far below the size where Pillow warns.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _decode(upload)
    except _BOMB as error:
        raise ImageRejected("The image has too many pixels to be decoded safely.") from error
    finally:
        upload.seek(0)


def _decode(upload: UploadedFile) -> CheckedImage:
    try:
        image = Image.open(upload)
    except _BOMB:
        raise
    except Exception as error:  # Pillow raises many types on hostile headers
        raise ImageRejected("This file is not a readable image; use a JPEG, PNG or WebP file.") from error
    with image:
        checked = _check_header(image)
        try:
            image.load()
        except _BOMB:
            raise
        except Exception as error:  # OSError (truncated), IndexError, SyntaxError, ... on bad pixel data
            raise ImageRejected(
                "The image could not be decoded: its pixel data is missing, cut short or corrupt. "
                "Export it again as JPEG, PNG or WebP."
            ) from error
    return checked


def _check_header(image: Image.Image) -> CheckedImage:
    if image.format not in IMAGE_FORMATS:
        raise ImageRejected(f"{image.format or 'This'} images are not supported; use JPEG, PNG or WebP.")
    width, height = image.size
    min_side, max_side = settings.UPLOAD_IMAGE_MIN_SIDE_PX, settings.UPLOAD_IMAGE_MAX_SIDE_PX
    if min(width, height) < min_side:
        raise ImageRejected(f"The image is {width}x{height} pixels; each side must be at least {min_side} px.")
    if max(width, height) > max_side:
        raise ImageRejected(f"The image is {width}x{height} pixels; each side may be at most {max_side} px.")
    max_pixels = settings.UPLOAD_IMAGE_MAX_PIXELS
    if width * height > max_pixels:
        raise ImageRejected(
            f"The image is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels); "
            f"keep it under {max_pixels / 1e6:.1f} megapixels."
        )
    return CheckedImage(format=image.format, width=width, height=height)


def image_file_error(upload: UploadedFile) -> str | None:
    """Why this upload cannot be a frame, judged by its content, or None when it can."""
    try:
        check_image(upload)
    except ImageRejected as error:
        return str(error)
    return None


def stored_image_extension(upload: UploadedFile) -> str:
    """The file extension our copy of a validated upload gets: from its detected format, never from its name."""
    upload.seek(0)
    try:
        with Image.open(upload) as image:
            image_format = image.format
    except Exception as error:  # only reached when the upload skipped validation
        raise InvalidInput("This file is not a readable image.", fields={"image": ["Not a readable image."]}) from error
    finally:
        upload.seek(0)
    if image_format not in IMAGE_EXTENSIONS:
        raise InvalidInput(f"{image_format} images are not supported.", fields={"image": ["Use JPEG, PNG or WebP."]})
    return IMAGE_EXTENSIONS[image_format]


def image_url_error(url: str) -> str | None:
    """Why the provider could not fetch this URL, or None when it is a public HTTPS URL."""
    if url.lower().startswith("data:"):
        return "Data URIs are not accepted; upload the file or give a public HTTPS URL."
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a malformed port
    except ValueError:
        return "This is not a valid URL."
    del port
    if parts.scheme != "https":
        return "The image URL must start with https://."
    if parts.username or parts.password:
        return "The image URL must not contain a user name or password."
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return "The image URL has no host name."
    if host in LOCAL_HOSTNAMES or host.endswith(".localhost") or host.endswith(".local"):
        return "The image URL points at a local machine; the provider needs a public host."
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None if "." in host else "The image URL needs a full public host name."
    if not address.is_global:
        return "The image URL points at a private, loopback or link-local address; use a public host."
    return None
