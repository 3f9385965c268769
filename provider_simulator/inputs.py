"""What the simulator accepts as a prediction's input, like the real API: field checks, image URL checks, images."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from PIL import Image, UnidentifiedImageError

from provider_simulator import video

if TYPE_CHECKING:
    from provider_simulator.simulator import Simulator

logger = logging.getLogger(__name__)

MODEL_SLUG = "bytedance-seedance-2-0-image-to-video"
RESOLUTIONS = ("480p", "720p")
DURATIONS = ("auto", *(str(seconds) for seconds in range(4, 16)))
ASPECT_RATIOS = ("auto", *video.ASPECT_RATIOS)
INPUT_FIELDS = {
    "prompt",
    "image_url",
    "end_image_url",
    "resolution",
    "duration",
    "aspect_ratio",
    "generate_audio",
    "seed",
    "end_user_id",
}
MAX_IMAGE_BYTES = 30 * 1024 * 1024
IMAGE_FORMATS = {"JPEG", "PNG", "WEBP"}
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp"}


def validate_input(simulator: Simulator, inputs: dict) -> list[str]:
    problems = [f"{name}: unknown field" for name in sorted(set(inputs) - INPUT_FIELDS)]
    prompt = inputs.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        problems.append("prompt: is required and must be a non-empty string")
    if "image_url" not in inputs:
        problems.append("image_url: is required")
    for name in ("image_url", "end_image_url"):
        if name in inputs:
            problem = check_image_url(simulator, inputs[name])
            if problem:
                problems.append(f"{name}: {problem}")
    for name, allowed in (("resolution", RESOLUTIONS), ("duration", DURATIONS), ("aspect_ratio", ASPECT_RATIOS)):
        if name in inputs and inputs[name] not in allowed:
            problems.append(f"{name}: must be one of {', '.join(allowed)} (a string)")
    if "generate_audio" in inputs and not isinstance(inputs["generate_audio"], bool):
        problems.append("generate_audio: must be a JSON boolean")
    for name in ("seed", "end_user_id"):
        if name in inputs and not isinstance(inputs[name], str):
            problems.append(f"{name}: must be a string")
    return problems


def check_image_url(simulator: Simulator, value) -> str:
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty string URL"
    if value[:5].lower() == "data:":
        return "data URIs are not accepted; give a public HTTPS URL"
    parts = urlsplit(value)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        return "must be a public HTTPS URL"
    local = is_local_host(host)
    if local and not simulator.config.allow_local_urls:
        return "localhost and private-network URLs are not accepted; give a public HTTPS URL"
    if parts.scheme != "https" and not local:
        return "must be an HTTPS URL"
    suffix = Path(unquote(parts.path)).suffix.lower()
    if suffix and suffix not in IMAGE_EXTENSIONS:
        return "must be a JPEG, PNG or WebP image"
    name = media_name(simulator, value)
    return check_media_file(name) if name is not None else ""


def media_name(simulator: Simulator, url: str) -> str | None:
    """The storage name when `url` is this site's own media (the only images the simulator reads)."""
    prefix = f"{simulator.site_url}{simulator.media_url}" if simulator.site_url else None
    if not prefix or not url.startswith(prefix):
        return None
    return unquote(urlsplit(url).path[len(urlsplit(prefix).path) :])


def check_media_file(name: str) -> str:
    from django.core.files.storage import default_storage

    try:
        if default_storage.size(name) > MAX_IMAGE_BYTES:
            return "image is larger than 30 MB"
        with default_storage.open(name) as handle, Image.open(handle) as image:
            if image.format not in IMAGE_FORMATS:
                return "must be a JPEG, PNG or WebP image"
    except (OSError, UnidentifiedImageError, ValueError):
        return "could not be fetched as a JPEG, PNG or WebP image"
    return ""


def load_image(simulator: Simulator, url: str | None, label: str) -> Image.Image | None:
    if url is None:
        return None
    name = media_name(simulator, url)
    if name is not None:
        from django.core.files.storage import default_storage

        try:
            with default_storage.open(name) as handle, Image.open(handle) as image:
                image.draft("RGB", (1024, 1024))  # JPEG: decode at reduced size, much faster
                return image.convert("RGB")
        except (OSError, UnidentifiedImageError, ValueError):
            logger.warning("simulator could not read %s; drawing a placeholder", name)
    return video.placeholder_image(url, label)


def is_http_url(value) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def is_local_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost") or host.endswith(".local"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local or address.is_unspecified
