"""Contract of /api/v1/generations/: create (JSON, multipart), list, read, cancel, retry, idempotency, isolation."""

import base64
import hashlib
import hmac
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from accounts import services as account_services
from accounts.models import EndUser
from billing.models import SpendAuthorization
from generations import services as generation_services
from generations.models import Generation, Status
from tests.api.conftest import assert_error
from tests.concurrency import run_at_once
from webhooks import services as webhook_services

URL = "/api/v1/generations/"
BODY = {
    "prompt": "a red square drifts to the right",
    "image_url": "https://partner.example/frames/first.png",
    "resolution": "480p",
    "duration": "5",
    "aspect_ratio": "16:9",
    "generate_audio": False,
    "end_user_id": "customer-42",
}
FIELDS = {
    "id", "status", "prompt", "image_url", "end_image_url", "resolution", "duration", "aspect_ratio",
    "generate_audio", "seed", "end_user_id", "estimated_cost", "cost", "currency", "video_url",
    "poster_url", "duration_seconds", "error", "retry_of", "variation_group", "continues", "created_at",
    "completed_at", "media_expires_at", "queue_position", "estimated_start_at", "estimated_finish_at",
}  # fmt: skip


@pytest.fixture(autouse=True)
def generous_trial(settings):
    settings.TRIAL_CREDIT_USD = Decimal(1000)


def png_bytes(color=(200, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), color).save(buffer, "PNG")
    return buffer.getvalue()


def png_file(name="frame.png", color=(200, 40, 40)):
    upload = io.BytesIO(png_bytes(color))
    upload.name = name
    return upload


def create(client, **overrides):
    response = client.post(URL, {**BODY, **overrides}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_from_json_answers_the_generation(api_client, organization, api_key):
    body = create(api_client)
    assert set(body) == FIELDS
    assert body["status"] == "queued" and body["end_user_id"] == "customer-42"
    assert body["image_url"] == BODY["image_url"] and body["end_image_url"] is None
    assert body["duration"] == "5" and body["resolution"] == "480p" and body["generate_audio"] is False
    assert body["estimated_cost"] == "0.7060" and body["cost"] is None and body["currency"] == "usd"
    assert body["video_url"] is None and body["error"] is None and body["completed_at"] is None
    generation = Generation.objects.get(pk=body["id"])
    assert generation.organization == organization and generation.api_key == api_key
    assert EndUser.objects.filter(organization=organization, external_id="customer-42").exists()


def test_create_without_end_user_uses_the_default(api_client):
    body = create(api_client, end_user_id=None)
    assert body["end_user_id"] == ":default"


def test_create_from_multipart_uploads(api_client):
    response = api_client.post(
        URL,
        {"prompt": "drift", "image": png_file(), "end_image": png_file("last.png", (10, 10, 200)), "duration": 4},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["image_url"].startswith("http") and body["image_url"].split("?")[0].endswith(".png")
    assert body["end_image_url"].startswith("http") and body["duration"] == "4"
    generation = Generation.objects.get(pk=body["id"])
    assert generation.image and generation.end_image and generation.generate_audio is True


def test_validation_names_every_bad_field_at_once(api_client):
    error = assert_error(api_client.post(URL, {"resolution": "4k", "end_user_id": "has space"}, format="json"), 400)
    assert error["code"] == "invalid_input"
    assert {"prompt", "image_url", "resolution", "end_user_id"} <= set(error["fields"])
    assert not Generation.objects.exists() and not EndUser.objects.exists()


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"duration": "16"}, "duration"),
        ({"aspect_ratio": "2:1"}, "aspect_ratio"),
        ({"generate_audio": "maybe"}, "generate_audio"),
        ({"image_url": "http://partner.example/a.png"}, "image_url"),
        ({"image_url": "https://127.0.0.1/a.png"}, "image_url"),
        ({"resolution": "1080p"}, "resolution"),
        ({"prompt": "x" * 5000}, "prompt"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_400_naming_the_field(api_client, overrides, field):
    error = assert_error(api_client.post(URL, {**BODY, **overrides}, format="json"), 400, "invalid_input")
    assert field in error["fields"]


def test_an_upload_that_is_not_an_image_is_400(api_client):
    fake = io.BytesIO(b"not an image at all")
    fake.name = "frame.png"
    error = assert_error(api_client.post(URL, {"prompt": "x", "image": fake}, format="multipart"), 400)
    assert "image" in error["fields"]


def test_blocked_end_user_and_spend_limit_answer_402(api_client, organization):
    end_user = account_services.end_user_for_partner(organization=organization, external_id="customer-42")
    account_services.end_user_update(end_user=end_user, blocked=True)
    assert_error(api_client.post(URL, BODY, format="json"), 402, "end_user_blocked")
    account_services.end_user_update(end_user=end_user, blocked=False, monthly_spend_limit=Decimal("0.10"))
    error = assert_error(api_client.post(URL, BODY, format="json"), 402, "end_user_limit_reached")
    assert error["message"]
    assert not Generation.objects.exists()


def test_list_filters_and_cursor_pagination(api_client, organization):
    first = create(api_client, end_user_id="alice")
    second = create(api_client, end_user_id="bob")
    third = create(api_client, end_user_id="alice")
    generation_services.generation_cancel(generation=Generation.objects.get(pk=second["id"]))

    page = api_client.get(URL + "?page_size=2").json()
    assert [g["id"] for g in page["results"]] == [third["id"], second["id"]]
    rest = api_client.get(page["next"]).json()
    assert [g["id"] for g in rest["results"]] == [first["id"]] and rest["next"] is None

    assert [g["id"] for g in api_client.get(URL + "?end_user_id=alice").json()["results"]] == [third["id"], first["id"]]
    assert [g["id"] for g in api_client.get(URL + "?status=canceled").json()["results"]] == [second["id"]]
    Generation.objects.filter(pk=first["id"]).update(created_at=timezone.now() - timedelta(days=3))
    since = (timezone.now() - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    after = api_client.get(URL, {"created_after": since}).json()["results"]
    assert {g["id"] for g in after} == {second["id"], third["id"]}
    before = api_client.get(URL, {"created_before": since}).json()["results"]
    assert [g["id"] for g in before] == [first["id"]]


@pytest.mark.parametrize("query", ["status=done", "created_after=yesterday", "page_size=1000", "cursor=bogus"])
def test_list_rejects_bad_filters(api_client, query):
    assert_error(api_client.get(f"{URL}?{query}"), 400, "invalid_input")


def test_list_queries_do_not_grow_with_the_page_size(api_client):
    for n in range(12):
        create(api_client, end_user_id=f"user-{n % 4}")
    api_client.get(URL + "?page_size=2")  # warm the throttle counter and the key's last_used_at
    counts = []
    for size in (2, 12):
        with CaptureQueriesContext(connection) as queries:
            assert len(api_client.get(f"{URL}?page_size={size}").json()["results"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_detail_cancel_and_retry(api_client):
    created = create(api_client)
    url = f"{URL}{created['id']}/"
    assert api_client.get(url).json() == created

    canceled = api_client.post(f"{url}cancel/")
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    assert canceled.json()["completed_at"] is not None and canceled.json()["cost"] is None
    again = assert_error(api_client.post(f"{url}cancel/"), 409, "not_cancelable")
    assert "canceled" in again["message"]

    retried = api_client.post(f"{url}retry/")
    assert retried.status_code == 201, retried.content
    retry = retried.json()
    assert retry["retry_of"] == created["id"] and retry["status"] == "queued" and retry["id"] != created["id"]
    assert_error(api_client.post(f"{URL}{retry['id']}/retry/"), 409, "not_retryable")


def test_cancel_of_a_job_at_the_provider_is_409_saying_why(api_client, simulator):
    created = create(api_client)
    generation_services.dispatch_pending()
    assert Generation.objects.get(pk=created["id"]).status == Status.PROCESSING
    error = assert_error(api_client.post(f"{URL}{created['id']}/cancel/"), 409, "not_cancelable")
    assert "provider" in error["message"]


def test_another_organization_gets_404_everywhere(api_client, other_client):
    created = create(api_client)
    url = f"{URL}{created['id']}/"
    assert_error(other_client.get(url), 404, "not_found")
    assert_error(other_client.post(f"{url}cancel/"), 404, "not_found")
    assert_error(other_client.post(f"{url}retry/"), 404, "not_found")
    assert other_client.get(URL).json()["results"] == []
    assert Generation.objects.get(pk=created["id"]).status == Status.QUEUED
    assert_error(api_client.get(f"{URL}00000000-0000-0000-0000-000000000000/"), 404, "not_found")


def test_idempotent_create_makes_one_generation_and_one_charge(api_client):
    first = api_client.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    second = api_client.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json() and second["Idempotent-Replayed"] == "true"
    assert Generation.objects.count() == 1 and SpendAuthorization.objects.count() == 1
    conflict = api_client.post(URL, {**BODY, "duration": "6"}, format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    assert_error(conflict, 409, "idempotency_key_reused")


def test_idempotent_multipart_create_compares_files_by_content(api_client):
    def post(color):
        data = {"prompt": "drift", "image": png_file(color=color)}
        return api_client.post(URL, data, format="multipart", HTTP_IDEMPOTENCY_KEY="upload-1")

    first, second = post((1, 2, 3)), post((1, 2, 3))
    assert first.status_code == second.status_code == 201 and first.json()["id"] == second.json()["id"]
    assert_error(post((9, 9, 9)), 409, "idempotency_key_reused")
    assert Generation.objects.count() == 1


def test_a_refused_create_releases_the_idempotency_key(api_client, organization):
    end_user = account_services.end_user_for_partner(organization=organization, external_id="customer-42")
    account_services.end_user_update(end_user=end_user, blocked=True)
    assert_error(api_client.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="k"), 402)
    account_services.end_user_update(end_user=end_user, blocked=False)
    assert api_client.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201


def test_succeeded_generation_reads_and_is_pushed_to_the_partner_signed(
    api_client, organization, simulator, receiver, django_capture_on_commit_callbacks
):
    endpoint = webhook_services.webhook_endpoint_create(organization=organization, url=receiver.url)
    created = create(api_client)
    with django_capture_on_commit_callbacks(execute=True):
        generation_services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    with django_capture_on_commit_callbacks(execute=True):
        simulator.deliver_webhooks()
    # publishing runs after the finishing commit; its own deliveries after the publishing commit
    with django_capture_on_commit_callbacks(execute=True):
        generation_services.generation_publish_terminal_event(generation_id=created["id"])

    body = api_client.get(f"{URL}{created['id']}/").json()
    assert body["status"] == "succeeded", body
    assert body["video_url"].startswith("http") and body["video_url"].split("?")[0].endswith(".mp4")
    assert body["cost"] == "0.7060" and abs(body["duration_seconds"] - 5.0) < 0.1 and body["completed_at"]

    events = [json.loads(r["body"]) for r in receiver.requests]
    succeeded = [e for e in events if e["type"] == "generation.succeeded"]
    assert succeeded and succeeded[0]["data"]["id"] == created["id"] and succeeded[0]["data"]["cost"] == "0.7060"
    request = receiver.requests[events.index(succeeded[0])]
    key = base64.b64decode(endpoint.secret.removeprefix("whsec_"))
    signed = f"{request['headers']['webhook-id']}.{request['headers']['webhook-timestamp']}.{request['body']}"
    expected = base64.b64encode(hmac.new(key, signed.encode(), hashlib.sha256).digest()).decode()
    assert request["headers"]["webhook-signature"] == f"v1,{expected}"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_creates_make_one_generation_and_one_charge(settings):
    from rest_framework.test import APIClient

    from tests.factories import OrganizationFactory

    organization = OrganizationFactory()
    _, secret = account_services.api_key_create(organization=organization, name="race")
    threads = 8

    def create():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        response = client.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="same-order")
        return response.status_code, response.json()

    results = run_at_once(create, threads=threads)

    assert Generation.objects.filter(organization=organization).count() == 1
    assert SpendAuthorization.objects.filter(organization=organization).count() == 1
    created_id = str(Generation.objects.get(organization=organization).pk)
    assert len(results) == threads
    for status_code, body in results:
        assert (status_code == 201 and body["id"] == created_id) or (
            status_code == 409 and body["error"]["code"] == "idempotency_in_progress"
        ), (status_code, body)
