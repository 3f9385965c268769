"""The storyboards API over the simulator: create (multipart and JSON), read, retry a shot, tenancy, webhooks."""

from __future__ import annotations

import json

from billing import services as billing
from storyboards.models import Storyboard, StoryboardStatus
from tests.api.conftest import assert_error, other_client  # noqa: F401
from tests.generations.test_lifecycle import png_upload
from tests.storyboards.conftest import committing, reload, run
from webhooks import services as webhooks
from webhooks.models import WebhookDelivery

URL = "/api/v1/storyboards/"


def multipart(shots, **extra) -> dict:
    body = {"shots": json.dumps(shots), "resolution": "480p", "aspect_ratio": "16:9", **extra}
    for number, item in enumerate(shots, start=1):
        if not item.get("continue_previous"):
            body[f"shot_{number}_image"] = png_upload()
    return body


TWO_CHAINED = [{"prompt": "one", "duration": "4"}, {"prompt": "two", "duration": "4", "continue_previous": True}]


def test_create_multipart_runs_to_a_film_and_tells_the_partner(api_client, organization, simulator):
    webhooks.webhook_endpoint_create(organization=organization, url="https://partner.example/hooks")
    with committing():
        response = api_client.post(URL, multipart(TWO_CHAINED, title="Two"), format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "running" and len(body["shots"]) == 2 and body["estimated_cost"]
    assert [s["status"] for s in body["shots"]] == ["waiting", "waiting"]  # the first starts in a task
    run(simulator)
    detail = api_client.get(f"{URL}{body['id']}/").json()
    assert detail["status"] == "succeeded", detail
    assert detail["film_url"] and detail["poster_url"] and abs(detail["duration_seconds"] - 8.0) <= 0.1
    assert detail["cost"] == f"{sum(float(s['cost']) for s in detail['shots']):.4f}"
    assert api_client.get(detail["film_url"].replace("http://testserver", "")).status_code == 200
    [delivery] = WebhookDelivery.objects.filter(event_type="storyboard.succeeded")
    assert delivery.payload["data"]["id"] == body["id"] and delivery.payload["data"]["film_url"]
    listed = api_client.get(URL).json()
    assert [s["id"] for s in listed["results"]] == [body["id"]]


def test_a_failed_shot_is_retried_through_the_api_and_the_partner_hears_of_the_failure(
    api_client, organization, simulator
):
    webhooks.webhook_endpoint_create(organization=organization, url="https://partner.example/hooks")
    with committing():
        body = api_client.post(URL, multipart(TWO_CHAINED), format="multipart").json()
    run(simulator, rounds=1)
    simulator.force_next(status_code=400, message="Refused.", method="POST")
    run(simulator)
    detail = api_client.get(f"{URL}{body['id']}/").json()
    assert detail["status"] == "failed" and detail["shots"][1]["error"]["message"].startswith("Refused")
    assert WebhookDelivery.objects.filter(event_type="storyboard.failed").count() == 1
    assert_error(api_client.post(f"{URL}{body['id']}/shots/1/retry/"), 409, "not_retryable")
    with committing():
        retried = api_client.post(f"{URL}{body['id']}/shots/2/retry/")
    assert retried.status_code == 200 and retried.json()["status"] == "running"
    run(simulator)
    assert api_client.get(f"{URL}{body['id']}/").json()["status"] == "succeeded"


def test_another_organizations_storyboard_is_404(api_client, other_client, organization, simulator):  # noqa: F811
    with committing():
        body = api_client.post(URL, multipart(TWO_CHAINED), format="multipart").json()
    assert_error(other_client.get(f"{URL}{body['id']}/"), 404)
    assert_error(other_client.post(f"{URL}{body['id']}/shots/1/retry/"), 404)
    assert other_client.get(URL).json()["results"] == []


def test_json_create_with_bad_shots_names_each_field(api_client, simulator):
    response = api_client.post(
        URL,
        {"shots": [{"prompt": "", "duration": "99", "image_url": "http://x"}, {"prompt": "b", "continue_previous": 1}]},
        format="json",
    )
    fields = assert_error(response, 400)["fields"]
    assert "shots[2].continue_previous" in fields
    response = api_client.post(
        URL, {"shots": [{"prompt": "", "duration": "99", "image_url": "http://x"}, {"prompt": "b"}]}, format="json"
    )
    fields = assert_error(response, 400)["fields"]
    assert {"shots[1].prompt", "shots[1].duration", "shots[1].image_url", "shots[2].image_url"} <= set(fields)
    assert not Storyboard.objects.exists()


def test_over_the_spend_limit_the_whole_storyboard_is_refused_with_402(api_client, organization, simulator):
    billing.billing_account_set_limit(organization=organization, monthly_spend_limit=1)
    response = api_client.post(URL, multipart(TWO_CHAINED), format="multipart")
    assert_error(response, 402)
    assert not Storyboard.objects.exists()


def test_idempotency_key_replays_the_first_answer(api_client, simulator):
    first = api_client.post(URL, multipart(TWO_CHAINED), format="multipart", HTTP_IDEMPOTENCY_KEY="sb-1")
    again = api_client.post(URL, multipart(TWO_CHAINED), format="multipart", HTTP_IDEMPOTENCY_KEY="sb-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and Storyboard.objects.count() == 1
    assert reload(Storyboard.objects.get()).status == StoryboardStatus.RUNNING
