"""Uploaded frames over HTTP: hostile images answer a clear 400, and stored names come from the detected format."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from generations import services
from generations.models import Generation, Status
from tests.api.conftest import assert_error
from tests.images import image_bytes, png_claiming, png_with_text

API_URL = "/api/v1/generations/"
SCRIPT = b"<html><script>fetch('/app/developers/').then(r => r.text()).then(alert)</script></html>"
HEX_NAME = r"[0-9a-f]{32}"


@pytest.fixture(autouse=True)
def generous_trial(settings):
    settings.TRIAL_CREDIT_USD = Decimal(1000)


def named(data: bytes, name: str) -> io.BytesIO:
    upload = io.BytesIO(data)
    upload.name = name
    return upload


def api_create(api_client, **files):
    return api_client.post(API_URL, {"prompt": "drift", "duration": 4, **files}, format="multipart")


def browser_create(browser_client, **files):
    data = {"prompt": "drift", "resolution": "480p", "duration": "5", "aspect_ratio": "16:9", **files}
    return browser_client.post(reverse("generation_create"), data)


@pytest.mark.parametrize(
    "data, fragment",
    [
        (png_claiming(64, 64, pixel_data=None), "could not be decoded"),
        (png_claiming(4000, 4000, pixel_data=b"\0" * 100), "could not be decoded"),
        (png_claiming(6000, 6000, pixel_data=b"\0" * 100), "megapixels"),
    ],
    ids=["no pixel data", "short pixel data", "6000x6000 claim"],
)
def test_hostile_pngs_answer_400_in_the_api_never_500(api_client, data, fragment):
    error = assert_error(api_create(api_client, image=named(data, "frame.png")), 400, "invalid_input")
    assert fragment in error["fields"]["image"][0]
    assert not Generation.objects.exists()


def test_a_png_without_pixel_data_is_explained_under_the_field_in_the_browser(browser_client):
    response = browser_create(browser_client, image=named(png_claiming(64, 64, pixel_data=None), "frame.png"))
    assert response.status_code == 400
    assert "could not be decoded" in response.context["form"].errors["image"][0]


@pytest.mark.parametrize(
    "data, name, extension",
    [
        (png_with_text(SCRIPT), "x.html", "png"),
        (png_with_text(SCRIPT), "x.svg", "png"),
        (image_bytes("JPEG"), "x.xhtml", "jpg"),
        (image_bytes("WEBP"), "x.js", "webp"),
        (image_bytes("PNG"), "no-extension", "png"),
    ],
    ids=["png as .html", "png as .svg", "jpeg as .xhtml", "webp as .js", "png without extension"],
)
def test_stored_frame_names_come_from_the_detected_format_only(api_client, organization, data, name, extension):
    response = api_create(api_client, image=named(data, name), end_image=named(data, name))
    assert response.status_code == 201, response.content
    generation = Generation.objects.get(pk=response.json()["id"])
    for field in (generation.image, generation.end_image):
        assert re.fullmatch(rf"generations/frames/{organization.pk}/{HEX_NAME}\.{extension}", field.name), field.name
        assert field.read() == data  # the file itself is kept as sent
    assert urlsplit(response.json()["image_url"]).path.endswith(f".{extension}")


def test_a_png_named_html_from_the_browser_is_stored_as_png(browser_client, organization):
    response = browser_create(browser_client, image=named(png_with_text(SCRIPT), "x.html"))
    assert response.status_code == 302, response.content
    generation = Generation.objects.get()
    assert re.fullmatch(rf"generations/frames/{organization.pk}/{HEX_NAME}\.png", generation.image.name)
    assert ".html" not in generation.image.name


def test_a_retry_keeps_the_detected_extension(api_client, organization):
    response = api_create(api_client, image=named(image_bytes("JPEG"), "x.html"))
    generation = Generation.objects.get(pk=response.json()["id"])
    services.generation_cancel(generation=generation)
    retry = services.generation_retry(generation=Generation.objects.get(pk=generation.pk))
    assert re.fullmatch(rf"generations/frames/{organization.pk}/{HEX_NAME}\.jpg", retry.image.name)
    assert retry.image.name != generation.image.name


def test_the_stored_video_is_named_by_a_random_hex(api_client, organization, simulator):
    response = api_create(api_client, image=named(image_bytes("PNG"), "x.html"))
    generation_id = response.json()["id"]
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    generation = Generation.objects.get(pk=generation_id)
    assert generation.status == Status.SUCCEEDED, generation.error_message
    assert re.fullmatch(rf"generations/videos/{organization.pk}/{HEX_NAME}\.mp4", generation.video.name)
