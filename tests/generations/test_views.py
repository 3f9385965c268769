"""Browser pages of generations: the form, the live price, the live list, the detail page, tenant scope."""

from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from billing import services as billing_services
from generations import services
from generations.models import Generation, Status
from tests.generations.test_lifecycle import create, png_upload


@pytest.fixture(autouse=True)
def generous_trial(settings):
    settings.TRIAL_CREDIT_USD = Decimal(1000)


def form_data(**overrides) -> dict:
    data = {
        "prompt": "waves roll in",
        "resolution": "480p",
        "duration": "5",
        "aspect_ratio": "16:9",
        "generate_audio": "on",
    }
    data.update(overrides)
    return data


def test_form_page_shows_price_from_the_price_book(browser_client):
    response = browser_client.get(reverse("generation_create"))
    assert response.status_code == 200
    assert 'id="quote"' in response.content.decode() and "/s at 720p" in response.content.decode()


@pytest.mark.parametrize(
    "resolution, duration, expected",
    [("480p", "5", "$0.71"), ("720p", "10", "$3.02"), ("720p", "auto", "$1.21 – $4.54")],
)
def test_live_price(browser_client, resolution, duration, expected):
    response = browser_client.get(reverse("generation_quote"), {"resolution": resolution, "duration": duration})
    assert expected in response.content.decode()


def test_create_from_the_browser(browser_client, organization, user, simulator):
    response = browser_client.post(reverse("generation_create"), form_data(image=png_upload()))
    generation = Generation.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("generation_detail", args=[generation.pk])
    assert generation.organization == organization and generation.created_by == user
    assert generation.end_user.external_id == f"user:{user.pk}"
    assert (generation.resolution, generation.duration, generation.aspect_ratio) == ("480p", "5", "16:9")


def test_bad_upload_error_sits_next_to_its_field(browser_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = browser_client.post(
        reverse("generation_create"), form_data(prompt="", image=SimpleUploadedFile("a.png", b"not an image"))
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "not a readable image" in form.errors["image"][0]
    assert form.errors["prompt"]
    assert not Generation.objects.exists()


def test_missing_first_frame_is_reported_on_the_image_field(browser_client):
    response = browser_client.post(reverse("generation_create"), form_data())
    assert response.status_code == 400 and "first frame" in response.context["form"].errors["image"][0]


def test_spend_limit_refusal_is_explained(browser_client, organization):
    billing_services.billing_account_set_limit(organization=organization, monthly_spend_limit=Decimal("0.10"))
    response = browser_client.post(reverse("generation_create"), form_data(image=png_upload()))
    assert response.status_code == 402
    assert "limit" in " ".join(response.context["form"].non_field_errors()).lower()
    assert not Generation.objects.exists()


def test_list_polls_while_something_moves_and_filters(browser_client, organization, simulator):
    generation = create(organization)
    page = browser_client.get(reverse("generation_list")).content.decode()
    assert 'hx-trigger="every 2s"' in page and str(generation.pk) in page
    services.generation_cancel(generation=generation)
    page = browser_client.get(reverse("generation_list")).content.decode()
    assert "hx-trigger" not in page.split('id="generation-rows"')[1].split(">")[0]
    assert (
        str(generation.pk) not in browser_client.get(reverse("generation_list"), {"status": "queued"}).content.decode()
    )


def test_htmx_list_request_gets_only_the_rows(browser_client, organization, simulator):
    create(organization)
    response = browser_client.get(reverse("generation_list"), HTTP_HX_REQUEST="true")
    assert response.content.decode().lstrip().startswith('<div id="generation-rows"')


def test_detail_shows_video_after_success_and_panel_stops_polling(browser_client, organization, simulator):
    generation = create(organization)
    url = reverse("generation_detail", args=[generation.pk])
    assert 'hx-trigger="every 2s"' in browser_client.get(url).content.decode()
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    panel = browser_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "<video" in panel and "Download MP4" in panel and "hx-trigger" not in panel


def test_cancel_and_retry_from_the_browser(browser_client, organization, simulator):
    generation = create(organization)
    browser_client.post(reverse("generation_cancel", args=[generation.pk]))
    assert Generation.objects.get(pk=generation.pk).status == Status.CANCELED
    response = browser_client.post(reverse("generation_retry", args=[generation.pk]))
    retried = Generation.objects.get(retry_of=generation)
    assert response["Location"] == reverse("generation_detail", args=[retried.pk])


def test_another_tenants_generation_answers_404(browser_client, other_organization, simulator):
    foreign = create(other_organization)
    for name in ("generation_detail",):
        assert browser_client.get(reverse(name, args=[foreign.pk])).status_code == 404
    for name in ("generation_cancel", "generation_retry"):
        assert browser_client.post(reverse(name, args=[foreign.pk])).status_code == 404
    assert Generation.objects.get(pk=foreign.pk).status == Status.QUEUED


def test_pages_need_login(client, db):
    response = client.get(reverse("generation_create"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_stored_video_is_served_without_debug(browser_client, organization, simulator, settings):
    settings.DEBUG = False
    generation = create(organization)
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    page = browser_client.get(reverse("generation_detail", args=[generation.pk])).content.decode()
    video_url = html.unescape(re.search(r'<video[^>]* src="([^"]+)"', page).group(1))
    response = browser_client.get(video_url)
    assert response.status_code == 200 and b"ftyp" in b"".join(response.streaming_content)[:64]
    assert response["Content-Type"] == "video/mp4" and response["X-Content-Type-Options"] == "nosniff"
