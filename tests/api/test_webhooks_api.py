"""Contract of /api/v1/webhook-endpoints/ and /api/v1/webhook-deliveries/, tenant isolation included."""

import json

import pytest

from tests.api.conftest import assert_error
from webhooks import services
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

ENDPOINTS = "/api/v1/webhook-endpoints/"
DELIVERIES = "/api/v1/webhook-deliveries/"


@pytest.fixture
def endpoint(organization, receiver):
    return services.webhook_endpoint_create(organization=organization, url=receiver.url)


@pytest.fixture
def delivery(organization, endpoint, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = services.event_publish(
            organization=organization, event_type="generation.failed", payload={"id": "g1"}
        )
    delivery.refresh_from_db()
    return delivery


def test_create_returns_the_secret_once_and_the_detail_shows_it(api_client, receiver, organization):
    response = api_client.post(
        ENDPOINTS, {"url": receiver.url, "event_types": ["generation.succeeded"], "description": "prod"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["event_types"] == ["generation.succeeded"]
    assert body["enabled"] is True and body["description"] == "prod"
    assert WebhookEndpoint.objects.get(pk=body["id"]).organization == organization
    detail = api_client.get(f"{ENDPOINTS}{body['id']}/").json()
    assert detail["secret"] == body["secret"]
    listing = api_client.get(ENDPOINTS).json()
    assert [e["id"] for e in listing["results"]] == [body["id"]] and "secret" not in listing["results"][0]
    assert listing["next"] is None


def test_event_types_default_to_all(api_client, receiver):
    body = api_client.post(ENDPOINTS, {"url": receiver.url}, format="json").json()
    assert body["event_types"] == [
        "generation.canceled",
        "generation.failed",
        "generation.succeeded",
        "storyboard.failed",
        "storyboard.succeeded",
    ]


def test_update_disable_enable_rotate_and_delete(api_client, endpoint):
    url = f"{ENDPOINTS}{endpoint.pk}/"
    body = api_client.patch(url, {"enabled": False, "event_types": ["generation.failed"]}, format="json").json()
    assert body["enabled"] is False and body["disabled_at"] and body["event_types"] == ["generation.failed"]
    body = api_client.patch(url, {"enabled": True}, format="json").json()
    assert body["enabled"] is True and body["disabled_at"] is None
    assert_error(api_client.patch(url, {"url": "https://10.1.1.1/"}, format="json"), 400, "invalid_input")

    rotated = api_client.post(f"{url}rotate-secret/").json()
    assert rotated["secret"] != endpoint.secret and rotated["secret"].startswith("whsec_")

    assert api_client.delete(url).status_code == 204
    assert_error(api_client.get(url), 404, "not_found")


def test_deliveries_list_detail_and_filters(api_client, delivery, endpoint):
    listing = api_client.get(DELIVERIES).json()
    [item] = listing["results"]
    assert (
        item["id"] == str(delivery.pk) and item["status"] == "succeeded" and item["event_type"] == "generation.failed"
    )
    assert item["endpoint_id"] == str(endpoint.pk) and item["attempt_log"][0]["status_code"] == 200
    assert item["payload"]["data"] == {"id": "g1"}
    assert api_client.get(DELIVERIES + "?status=failed").json()["results"] == []
    assert len(api_client.get(f"{DELIVERIES}?endpoint_id={endpoint.pk}&status=succeeded").json()["results"]) == 1
    assert api_client.get(f"{DELIVERIES}{delivery.pk}/").json()["event_id"] == delivery.event_id


def test_replay_over_the_api_resends_and_logs(api_client, delivery, receiver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(f"{DELIVERIES}{delivery.pk}/replay/")
    assert response.status_code == 202, response.content
    replay = WebhookDelivery.objects.get(pk=response.json()["id"])
    assert replay.replay_of == delivery and replay.status == DeliveryStatus.SUCCEEDED
    assert len(receiver.requests) == 2
    assert json.loads(receiver.requests[1]["body"])["id"] == delivery.event_id


def test_replay_to_a_disabled_endpoint_is_409(api_client, delivery, endpoint):
    services.webhook_endpoint_update(endpoint=endpoint, enabled=False)
    assert_error(api_client.post(f"{DELIVERIES}{delivery.pk}/replay/"), 409, "endpoint_disabled")


def test_another_organization_gets_404_on_every_object(other_client, endpoint, delivery):
    url = f"{ENDPOINTS}{endpoint.pk}/"
    assert_error(other_client.get(url), 404, "not_found")
    assert_error(other_client.patch(url, {"enabled": False}, format="json"), 404, "not_found")
    assert_error(other_client.delete(url), 404, "not_found")
    assert_error(other_client.post(f"{url}rotate-secret/"), 404, "not_found")
    assert_error(other_client.get(f"{DELIVERIES}{delivery.pk}/"), 404, "not_found")
    assert_error(other_client.post(f"{DELIVERIES}{delivery.pk}/replay/"), 404, "not_found")
    assert other_client.get(ENDPOINTS).json()["results"] == []
    assert other_client.get(DELIVERIES).json()["results"] == []
    endpoint.refresh_from_db()
    assert endpoint.enabled and WebhookDelivery.objects.count() == 1


def test_cursor_pagination_walks_every_endpoint_once(api_client, organization, receiver):
    created = {str(services.webhook_endpoint_create(organization=organization, url=receiver.url).pk) for _ in range(5)}
    seen, url = [], ENDPOINTS + "?page_size=2"
    while url:
        page = api_client.get(url).json()
        seen += [e["id"] for e in page["results"]]
        url = page["next"]
    assert len(seen) == 5 and set(seen) == created
