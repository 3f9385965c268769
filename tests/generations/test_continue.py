"""Continue a clip: the last frame of a succeeded video starts the next one (API, browser, chain)."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from PIL import Image

from accounts import services as accounts_services
from generations import services
from generations.catalog import validate_inputs
from generations.models import Generation, Status
from tests.api.conftest import assert_error, other_client  # noqa: F401
from tests.generations.test_lifecycle import create, png_upload


@pytest.fixture(autouse=True)
def generous_trial(settings):
    settings.TRIAL_CREDIT_USD = Decimal(1000)


def run_to_success(simulator, generation) -> Generation:
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    generation = Generation.objects.get(pk=generation.pk)
    assert generation.status == Status.SUCCEEDED, generation.error_message
    return generation


def red_to_blue(organization):
    image, end_image = png_upload(), png_upload(color=(20, 40, 220))
    inputs = validate_inputs(prompt="red turns blue", duration="5", resolution="480p", image=image, end_image=end_image)
    end_user = accounts_services.end_user_default(organization=organization)
    return services.generation_create(
        organization=organization, end_user=end_user, inputs=inputs, image=image, end_image=end_image
    )


def mean_color(field_file) -> tuple[float, float, float]:
    with field_file.open("rb") as stored:
        image = Image.open(io.BytesIO(stored.read())).convert("RGB")
    pixels = list(image.resize((8, 8)).get_flattened_data())
    return tuple(sum(p[i] for p in pixels) / len(pixels) for i in range(3))


def test_continue_from_starts_from_the_last_frame_and_links_the_two(api_client, organization, simulator):
    source = run_to_success(simulator, red_to_blue(organization))
    response = api_client.post(
        "/api/v1/generations/",
        {"continue_from": str(source.pk), "prompt": "she walks away", "duration": "6"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["continues"] == str(source.pk) and body["duration"] == "6"
    assert body["resolution"] == source.resolution and body["aspect_ratio"] == source.aspect_ratio
    continued = Generation.objects.get(pk=body["id"])
    assert continued.continues_id == source.pk and continued.image.name.endswith(".jpg")
    red, _, blue = mean_color(continued.image)
    assert blue > 150 and red < 80, "the first frame of the continuation is the source's last (blue) frame"
    # It runs like any other generation and its detail page shows the chain.
    run_to_success(simulator, continued)


def test_continue_from_another_organizations_video_is_404(other_client, organization, simulator):  # noqa: F811
    source = run_to_success(simulator, create(organization))
    response = other_client.post(
        "/api/v1/generations/", {"continue_from": str(source.pk), "prompt": "next"}, format="json"
    )
    assert_error(response, 404)


def test_continue_from_a_video_that_has_not_succeeded_is_409(api_client, organization, simulator):
    queued = create(organization)
    response = api_client.post(
        "/api/v1/generations/", {"continue_from": str(queued.pk), "prompt": "next"}, format="json"
    )
    assert_error(response, 409, "not_succeeded")
    assert Generation.objects.count() == 1


def test_continue_from_refuses_a_first_frame_too(api_client, organization, simulator):
    source = run_to_success(simulator, create(organization))
    response = api_client.post(
        "/api/v1/generations/",
        {"continue_from": str(source.pk), "prompt": "next", "image_url": "https://example.com/a.png"},
        format="json",
    )
    assert "image_url" in assert_error(response, 400)["fields"]


def test_browser_continue_form_creates_the_continuation_and_detail_shows_the_chain(
    browser_client, organization, simulator
):
    source = run_to_success(simulator, create(organization))
    page = browser_client.get(f"/app/videos/{source.pk}/")
    assert f"/app/videos/{source.pk}/continue/".encode() in page.content
    response = browser_client.post(
        f"/app/videos/{source.pk}/continue/", {"prompt": "then it spins", "resolution": "480p", "duration": "4"}
    )
    assert response.status_code == 302
    continued = Generation.objects.get(continues=source)
    assert continued.duration == "4" and continued.prompt == "then it spins"
    detail = browser_client.get(f"/app/videos/{continued.pk}/").content.decode()
    assert 'data-testid="chain"' in detail and f"/app/videos/{source.pk}/" in detail
