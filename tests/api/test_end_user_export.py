"""GET /api/v1/end-users/{id}/export/: everything held about an end user, at once or built by a task."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from billing import services as billing_services
from billing.models import UsageRecord
from generations import services as generation_services
from generations.models import EndUserExport, Generation
from tests.api.conftest import assert_error
from tests.api.test_end_user_erasure import EXTERNAL_ID, PROMPT, create, run_to_success

URL = f"/api/v1/end-users/{EXTERNAL_ID}/export/"


@pytest.fixture(autouse=True)
def generous_trial(settings):
    settings.TRIAL_CREDIT_USD = Decimal(1000)


def exports_on_disk(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "exports"
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def document(response) -> dict:
    if response.streaming:
        return json.loads(b"".join(response.streaming_content))
    return response.json()


def test_a_small_export_answers_at_once_with_inputs_outputs_and_money(
    api_client, client, simulator, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        done = create(api_client)
        run_to_success(simulator)
        url_input = create(api_client, image=None, end_image=None, image_url="https://partner.example/first.png")
        create(api_client, end_user_id="someone-else", prompt="not theirs")
    record = UsageRecord.objects.get(source_id=done["id"])
    billing_services.usage_refund(usage_record=record, amount=Decimal("0.5"), reason="blurry", actor=user)

    response = api_client.get(URL)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["end_user"]["end_user_id"] == EXTERNAL_ID and body["generations_count"] == 2
    by_id = {g["id"]: g for g in body["generations"]}
    assert set(by_id) == {done["id"], url_input["id"]}  # only theirs
    assert by_id[done["id"]]["prompt"] == PROMPT and by_id[done["id"]]["status"] == "succeeded"
    assert by_id[url_input["id"]]["image_url"] == "https://partner.example/first.png"  # the caller's own URL
    for link in (by_id[done["id"]]["image_url"], by_id[done["id"]]["end_image_url"], by_id[done["id"]]["video_url"]):
        path = urlsplit(link)
        assert client.get(f"{path.path}?{path.query}").status_code == 200  # fresh signed links to our copies
    usage = sorted(body["usage"], key=lambda row: row["kind"])
    assert [row["kind"] for row in usage] == ["refund", "usage"]
    assert all(row["generation_id"] == done["id"] for row in usage)
    assert usage[1]["amount"] == by_id[done["id"]]["cost"] and usage[0]["amount"] == "-0.5000"
    assert not EndUserExport.objects.exists()


def test_a_large_export_is_built_by_a_task_202_then_200_streamed_and_expires(
    api_client, settings, django_capture_on_commit_callbacks
):
    settings.END_USER_EXPORT_INLINE_MAX = 1
    for _ in range(2):
        create(api_client)

    with django_capture_on_commit_callbacks() as builds:
        first = api_client.get(URL)
    assert first.status_code == 202 and first["Retry-After"] == "5"
    assert first.json()["status"] == "building" and len(builds) == 1
    again = api_client.get(URL)  # still building: the same export, no second build
    assert again.status_code == 202 and again.json()["export_id"] == first.json()["export_id"]
    assert EndUserExport.objects.count() == 1

    builds[0]()  # the worker runs the build (django-q2 is synchronous in tests)

    ready = api_client.get(URL)
    assert ready.status_code == 200 and ready.streaming and ready["Content-Type"] == "application/json"
    body = document(ready)
    assert body["generations_count"] == 2 and {g["prompt"] for g in body["generations"]} == {PROMPT}
    assert body["end_user"]["end_user_id"] == EXTERNAL_ID
    [stored] = exports_on_disk(settings)
    assert EndUserExport.objects.get().file_name.endswith(stored.name)

    # A day later the upkeep pass deletes the file and the row.
    EndUserExport.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert generation_services.upkeep_pass()["exports_expired"] == 1
    assert exports_on_disk(settings) == [] and not EndUserExport.objects.exists()


def test_erasure_deletes_their_stored_exports(api_client, settings, django_capture_on_commit_callbacks):
    settings.END_USER_EXPORT_INLINE_MAX = 0
    create(api_client)
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.get(URL).status_code == 202
    assert len(exports_on_disk(settings)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.delete(f"/api/v1/end-users/{EXTERNAL_ID}/").status_code == 200
    assert exports_on_disk(settings) == [] and not EndUserExport.objects.exists()
    assert Generation.objects.get().prompt == ""


def test_export_of_an_unknown_end_user_is_404(api_client):
    assert_error(api_client.get("/api/v1/end-users/nobody/export/"), 404, "not_found")


def test_a_ready_export_whose_file_was_lost_is_built_again(api_client, settings, django_capture_on_commit_callbacks):
    settings.END_USER_EXPORT_INLINE_MAX = 0
    create(api_client)
    with django_capture_on_commit_callbacks(execute=True):
        api_client.get(URL)
    [stored] = exports_on_disk(settings)
    stored.unlink()  # storage lost it
    with django_capture_on_commit_callbacks() as builds:
        response = api_client.get(URL)
    assert response.status_code == 202 and len(builds) == 1
    builds[0]()
    assert document(api_client.get(URL))["generations_count"] == 1
