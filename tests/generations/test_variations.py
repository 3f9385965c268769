"""Variations: n generations with different seeds, grouped, priced n x one, authorized all or nothing, billed per
succeeded generation; in the API (group object, idempotent) and the browser (price, group page, gallery filter)."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from accounts import services as accounts_services
from billing import services as billing_services
from billing.models import SpendAuthorization, UsageRecord
from generations import services
from generations.models import Generation, Status
from tests.generations.test_lifecycle import png_upload

URL = "/api/v1/generations/"
BODY = {
    "prompt": "a red square drifts",
    "image_url": "https://partner.example/frames/first.png",
    "resolution": "480p",
    "duration": "5",
}


@pytest.fixture(autouse=True)
def generous_trial(settings):
    settings.TRIAL_CREDIT_USD = Decimal(1000)


def one_price(organization) -> Decimal:
    return billing_services.quote(organization=organization, resolution="480p", duration="5").authorized_amount


def png_bytes() -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), (10, 120, 200)).save(buffer, "PNG")
    buffer.seek(0)
    buffer.name = "frame.png"
    return buffer


def test_api_variations_answer_a_group_with_distinct_seeds_priced_n_times_one(api_client, organization):
    response = api_client.post(URL, {**BODY, "seed": "42", "variations": 3}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["count"] == 3 and len(body["generations"]) == 3
    seeds = [g["seed"] for g in body["generations"]]
    assert seeds[0] == "42" and len(set(seeds)) == 3
    assert {g["variation_group"] for g in body["generations"]} == {body["variation_group"]}
    assert Decimal(body["estimated_cost"]) == 3 * one_price(organization)
    assert SpendAuthorization.objects.count() == 3
    again = api_client.get(f"/api/v1/variation-groups/{body['variation_group']}/").json()
    assert [g["id"] for g in again["generations"]] == [g["id"] for g in body["generations"]]


def test_without_variations_the_answer_is_still_one_generation(api_client):
    body = api_client.post(URL, BODY, format="json").json()
    assert "id" in body and "generations" not in body and body["variation_group"] is None


@pytest.mark.parametrize("count", [0, 5, "many"])
def test_variations_out_of_range_are_refused(api_client, count):
    response = api_client.post(URL, {**BODY, "variations": count}, format="json")
    assert response.status_code == 400 and "variations" in response.json()["error"]["fields"]
    assert not Generation.objects.exists()


def test_variations_are_authorized_all_or_nothing(api_client, organization):
    # Room for two, not three: the whole group is refused, nothing is held, no frame is left in storage.
    billing_services.billing_account_set_limit(
        organization=organization, monthly_spend_limit=one_price(organization) * 2
    )
    data = {"prompt": "drift", "resolution": "480p", "duration": "5", "variations": 3, "image": png_bytes()}
    response = api_client.post(URL, data, format="multipart")
    assert response.status_code == 402, response.content
    assert not Generation.objects.exists() and not SpendAuthorization.objects.exists()
    assert not [path for path in Path(settings.MEDIA_ROOT).glob("generations/frames/**/*") if path.is_file()]
    data["variations"], data["image"] = 2, png_bytes()
    assert api_client.post(URL, data, format="multipart").status_code == 201
    assert Generation.objects.count() == 2 and SpendAuthorization.objects.count() == 2


def test_idempotency_key_replays_the_whole_group(api_client):
    first = api_client.post(URL, {**BODY, "variations": 2}, format="json", HTTP_IDEMPOTENCY_KEY="group-1")
    second = api_client.post(URL, {**BODY, "variations": 2}, format="json", HTTP_IDEMPOTENCY_KEY="group-1")
    assert first.status_code == second.status_code == 201 and second.json() == first.json()
    assert Generation.objects.count() == 2


def test_only_succeeded_variations_are_billed(api_client, organization, simulator):
    data = {"prompt": "drift", "resolution": "480p", "duration": "5", "variations": 3, "image": png_bytes()}
    body = api_client.post(URL, data, format="multipart").json()
    simulator.force_next(status_code=400, message="input rejected")  # the first submission fails
    assert services.dispatch_pending() == 3
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    generations = list(Generation.objects.filter(variation_group=body["variation_group"]))
    by_status = sorted(g.status for g in generations)
    assert by_status == [Status.FAILED, Status.SUCCEEDED, Status.SUCCEEDED]
    succeeded = [g for g in generations if g.status == Status.SUCCEEDED]
    records = UsageRecord.objects.filter(source_id__in=[g.pk for g in generations])
    assert sorted(r.source_id for r in records) == sorted(g.pk for g in succeeded)
    failed = next(g for g in generations if g.status == Status.FAILED)
    assert failed.cost is None and SpendAuthorization.objects.get(source_id=failed.pk).state == "released"
    group = api_client.get(f"/api/v1/variation-groups/{body['variation_group']}/").json()
    assert Decimal(group["cost"]) == sum(r.amount for r in records)
    assert all(g.poster for g in succeeded)


def test_another_organization_cannot_read_the_group(api_client, other_organization):
    group = api_client.post(URL, {**BODY, "variations": 2}, format="json").json()["variation_group"]
    _, secret = accounts_services.api_key_create(organization=other_organization, name="other")
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert other.get(f"/api/v1/variation-groups/{group}/").status_code == 404


def test_browser_form_makes_variations_and_shows_them_side_by_side(browser_client, organization, simulator):
    response = browser_client.post(
        reverse("generation_create"),
        {"image": png_upload(), "prompt": "drift", "resolution": "480p", "duration": "5", "aspect_ratio": "auto",
         "generate_audio": "on", "variations": "2"},
    )  # fmt: skip
    generations = list(Generation.objects.all())
    assert len(generations) == 2 and generations[0].variation_group == generations[1].variation_group
    assert response.status_code == 302 and response["Location"] == reverse(
        "variation_group", args=[generations[0].variation_group]
    )
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    page = browser_client.get(response["Location"]).content.decode()
    assert page.count('data-testid="variation"') == 2 and page.count("<video") == 2
    assert "does not make results identical" in page
    detail = browser_client.get(reverse("generation_detail", args=[generations[0].pk])).content.decode()
    assert reverse("variation_group", args=[generations[0].variation_group]) in detail


def test_browser_price_is_n_times_one_before_the_click(browser_client, organization):
    page = browser_client.get(reverse("generation_quote"), {"resolution": "480p", "duration": "5", "variations": "3"})
    assert f"${3 * one_price(organization):.2f}" in page.content.decode()
    form = browser_client.get(reverse("generation_create")).content.decode()
    assert 'name="variations"' in form and "does not make results identical" in form


def test_browser_variations_all_or_nothing_on_the_spend_limit(browser_client, organization):
    billing_services.billing_account_set_limit(organization=organization, monthly_spend_limit=one_price(organization))
    response = browser_client.post(
        reverse("generation_create"),
        {"image": png_upload(), "prompt": "drift", "resolution": "480p", "duration": "5", "aspect_ratio": "auto",
         "variations": "2"},
    )  # fmt: skip
    assert response.status_code == 402 and not Generation.objects.exists()


def test_gallery_kind_filter_tells_variations_from_single_videos(browser_client, api_client):
    single = api_client.post(URL, BODY, format="json").json()["id"]
    group = api_client.post(URL, {**BODY, "variations": 2}, format="json").json()["generations"]
    page = browser_client.get(reverse("generation_list"), {"kind": "variations"}).content.decode()
    assert single not in page and all(g["id"] in page for g in group)
    page = browser_client.get(reverse("generation_list"), {"kind": "single"}).content.decode()
    assert single in page and not any(g["id"] in page for g in group)


def test_another_organizations_member_gets_404_for_the_group_page(client, api_client, other_organization):
    group = api_client.post(URL, {**BODY, "variations": 2}, format="json").json()["variation_group"]
    client.force_login(other_organization.memberships.first().user)
    assert client.get(reverse("variation_group", args=[group])).status_code == 404
