"""Idempotency-Key on POST: replay, conflict, in-progress, per organization, purge, and concurrent duplicates."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import IdempotencyRecord
from seedance_saas.idempotency import idempotency_records_purge
from tests.api.conftest import assert_error
from tests.concurrency import run_at_once
from tests.factories import OrganizationFactory
from webhooks.models import WebhookEndpoint

URL = "/api/v1/webhook-endpoints/"
BODY = {"url": "http://127.0.0.1:9/hook", "event_types": ["generation.succeeded"]}


@pytest.fixture(autouse=True)
def _localhost(settings):
    settings.WEBHOOKS_ALLOW_HTTP_LOCALHOST = True


def post(client, body=BODY, key="key-1", **extra):
    return client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key, **extra)


def test_same_key_and_body_replays_the_first_answer(api_client):
    first = post(api_client)
    second = post(api_client)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json() and second["Idempotent-Replayed"] == "true"
    assert WebhookEndpoint.objects.count() == 1


def test_key_order_and_whitespace_of_the_json_do_not_matter(api_client):
    first = post(api_client)
    again = api_client.post(
        URL,
        '{"event_types": ["generation.succeeded"],   "url": "http://127.0.0.1:9/hook"}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="key-1",
    )
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]


def test_same_key_with_another_body_is_409(api_client):
    post(api_client)
    error = assert_error(post(api_client, {**BODY, "description": "other"}), 409, "idempotency_key_reused")
    assert "new key" in error["message"]
    assert WebhookEndpoint.objects.count() == 1


def test_same_key_on_another_path_is_409(api_client, organization):
    post(api_client)
    response = api_client.post(
        "/api/v1/webhook-deliveries/00000000-0000-0000-0000-000000000000/replay/", HTTP_IDEMPOTENCY_KEY="key-1"
    )
    assert_error(response, 409, "idempotency_key_reused")


def test_a_running_first_request_answers_409_in_progress(api_client, organization):
    post(api_client, key="warm-up")  # learn the fingerprint of BODY the way the server computes it
    fingerprint = IdempotencyRecord.objects.get(key="warm-up").request_fingerprint
    IdempotencyRecord.objects.create(organization=organization, key="running", request_fingerprint=fingerprint)
    response = post(api_client, key="running")
    assert_error(response, 409, "idempotency_in_progress")
    assert response["Retry-After"] == "1"


def test_an_abandoned_in_progress_key_is_taken_over(api_client, organization):
    post(api_client, key="warm-up")
    fingerprint = IdempotencyRecord.objects.get(key="warm-up").request_fingerprint
    record = IdempotencyRecord.objects.create(organization=organization, key="dead", request_fingerprint=fingerprint)
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    assert post(api_client, key="dead").status_code == 201


def test_keys_are_per_organization(api_client, other_client):
    mine = post(api_client)
    theirs = post(other_client)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"] and "Idempotent-Replayed" not in theirs


def test_an_error_releases_the_key_so_the_fixed_request_can_use_it(api_client):
    assert_error(post(api_client, {"url": "ftp://x"}), 400, "invalid_input")
    assert post(api_client).status_code == 201
    assert post(api_client).status_code == 201


def test_without_a_key_every_post_creates(api_client):
    api_client.post(URL, BODY, format="json")
    api_client.post(URL, BODY, format="json")
    assert WebhookEndpoint.objects.count() == 2


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_bad_keys_are_400(api_client, key):
    assert "Idempotency-Key" in assert_error(post(api_client, key=key), 400, "invalid_input")["fields"]


def test_records_older_than_a_day_are_purged(api_client):
    post(api_client, key="old")
    post(api_client, key="new")
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency_records_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_create_exactly_one(settings):
    settings.WEBHOOKS_ALLOW_HTTP_LOCALHOST = True
    organization = OrganizationFactory()
    _, secret = account_services.api_key_create(organization=organization, name="race")
    threads = 8

    def create():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        response = post(client, key="race-key")
        return response.status_code, response.json()

    results = run_at_once(create, threads=threads)

    assert WebhookEndpoint.objects.filter(organization=organization).count() == 1
    created_id = str(WebhookEndpoint.objects.get(organization=organization).pk)
    assert len(results) == threads
    for status_code, body in results:
        assert (status_code == 201 and body["id"] == created_id) or (
            status_code == 409 and body["error"]["code"] == "idempotency_in_progress"
        ), (status_code, body)
    assert sum(1 for s, _ in results if s == 201) >= 1
