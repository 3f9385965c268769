"""Rotating a webhook secret without downtime: both secrets sign during the overlap, checked by the reference
`standardwebhooks` library as a partner would verify, then only the new one; API, browser and admin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from accounts.models import User
from seedance_saas.errors import InvalidInput
from tests.api.conftest import assert_error
from webhooks import rotation, services
from webhooks.models import WebhookDelivery, WebhookEndpoint

START = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def publish(organization, django_capture_on_commit_callbacks, payload=None):
    with django_capture_on_commit_callbacks(execute=True):
        return services.event_publish(
            organization=organization, event_type="generation.succeeded", payload=payload or {"id": "g1"}
        )


def verifies(secret: str, request: dict) -> bool:
    try:
        Webhook(secret).verify(request["body"], request["headers"])
    except WebhookVerificationError:
        return False
    return True


def test_both_secrets_verify_during_the_overlap_and_only_the_new_one_after(
    organization, receiver, django_capture_on_commit_callbacks
):
    endpoint = services.webhook_endpoint_create(organization=organization, url=receiver.url)
    old_secret = endpoint.secret
    with time_machine.travel(START):
        endpoint = services.webhook_endpoint_rotate_secret(endpoint=endpoint, overlap_hours=24)
        new_secret = endpoint.secret
        assert new_secret != old_secret and endpoint.previous_secret_expires_at == START + timedelta(hours=24)
        publish(organization, django_capture_on_commit_callbacks)
        during = receiver.requests[-1]
        assert len(during["headers"]["webhook-signature"].split(" ")) == 2
        assert verifies(old_secret, during) and verifies(new_secret, during)
    with time_machine.travel(START + timedelta(hours=23, minutes=59)):
        publish(organization, django_capture_on_commit_callbacks)
        late_in_overlap = receiver.requests[-1]
        assert verifies(old_secret, late_in_overlap) and verifies(new_secret, late_in_overlap)

    with time_machine.travel(START + timedelta(hours=24, seconds=1)):
        publish(organization, django_capture_on_commit_callbacks)
        after = receiver.requests[-1]
        assert after["headers"]["webhook-signature"].count("v1,") == 1
        assert verifies(new_secret, after)
        assert not verifies(old_secret, after)
        assert not verifies(rotation.secret_generate(), after)


def test_overlap_zero_revokes_the_old_secret_at_once(organization, receiver, django_capture_on_commit_callbacks):
    endpoint = services.webhook_endpoint_create(organization=organization, url=receiver.url)
    old_secret = endpoint.secret
    endpoint = services.webhook_endpoint_rotate_secret(endpoint=endpoint, overlap_hours=0)
    assert endpoint.previous_secret == "" and endpoint.previous_secret_expires_at is None
    publish(organization, django_capture_on_commit_callbacks)
    request = receiver.requests[-1]
    assert verifies(endpoint.secret, request) and not verifies(old_secret, request)


def test_a_retry_after_a_rotation_is_signed_with_the_secrets_live_at_send_time(
    organization, receiver, django_capture_on_commit_callbacks
):
    endpoint = services.webhook_endpoint_create(organization=organization, url=receiver.url)
    old_secret = endpoint.secret
    receiver.statuses = [500]
    [delivery] = publish(organization, django_capture_on_commit_callbacks)
    assert verifies(old_secret, receiver.requests[0])

    endpoint = services.webhook_endpoint_rotate_secret(endpoint=endpoint, overlap_hours=0)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert services.deliveries_send_due() == 1
    retry = receiver.requests[1]
    assert retry["headers"]["webhook-id"] == delivery.event_id
    assert verifies(endpoint.secret, retry) and not verifies(old_secret, retry)


def test_rotating_again_during_an_overlap_drops_the_oldest_secret(
    organization, receiver, django_capture_on_commit_callbacks
):
    endpoint = services.webhook_endpoint_create(organization=organization, url=receiver.url)
    first = endpoint.secret
    second = services.webhook_endpoint_rotate_secret(endpoint=endpoint, overlap_hours=24).secret
    third = services.webhook_endpoint_rotate_secret(endpoint=endpoint, overlap_hours=24).secret
    publish(organization, django_capture_on_commit_callbacks)
    request = receiver.requests[-1]
    assert verifies(third, request) and verifies(second, request) and not verifies(first, request)
    assert request["headers"]["webhook-signature"].count("v1,") == 2


@pytest.mark.parametrize("overlap", [-1, 169, "abc", 1.5, True, None])
def test_the_overlap_must_be_whole_hours_from_0_to_168(organization, receiver, overlap):
    endpoint = services.webhook_endpoint_create(organization=organization, url=receiver.url)
    with pytest.raises(InvalidInput) as error:
        services.webhook_endpoint_rotate_secret(endpoint=endpoint, overlap_hours=overlap)
    assert "overlap_hours" in error.value.fields
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == endpoint.secret  # nothing changed


def test_old_secrets_are_dropped_from_storage_after_the_overlap(organization, receiver):
    endpoint = services.webhook_endpoint_create(organization=organization, url=receiver.url)
    services.webhook_endpoint_rotate_secret(endpoint=endpoint, overlap_hours=1, now=START)
    assert rotation.previous_secrets_drop_expired(now=START + timedelta(minutes=59)) == 0
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).previous_secret
    assert rotation.previous_secrets_drop_expired(now=START + timedelta(hours=1)) == 1
    endpoint.refresh_from_db()
    assert endpoint.previous_secret == "" and endpoint.previous_secret_expires_at is None
    assert endpoint.secret_rotated_at == START

    from django_q.models import Schedule

    assert Schedule.objects.filter(func="webhooks.tasks.previous_secrets_drop_expired").exists()


# --- API ---------------------------------------------------------------------------------------------------


def test_api_rotates_with_an_overlap_and_returns_the_new_secret(api_client, organization, receiver):
    endpoint = services.webhook_endpoint_create(organization=organization, url=receiver.url)
    url = f"/api/v1/webhook-endpoints/{endpoint.pk}/rotate-secret/"
    with time_machine.travel(START, tick=False):
        body = api_client.post(url, {"overlap_hours": 48}, format="json").json()
    endpoint.refresh_from_db()
    assert body["secret"] == endpoint.secret != endpoint.previous_secret
    assert endpoint.previous_secret not in str(body)
    assert body["secret_rotated_at"] == "2026-12-02T12:00:00Z"
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        detail = api_client.get(f"/api/v1/webhook-endpoints/{endpoint.pk}/").json()
    assert detail["previous_secret_expires_at"] == "2026-12-04T12:00:00Z"

    default = api_client.post(url).json()  # no body: 24 hours
    endpoint.refresh_from_db()
    assert default["secret"] == endpoint.secret
    assert abs(endpoint.previous_secret_expires_at - timezone.now() - timedelta(hours=24)) < timedelta(minutes=1)

    revoked = api_client.post(url, {"overlap_hours": 0}, format="json").json()
    assert revoked["previous_secret_expires_at"] is None


def test_a_retried_rotation_with_the_same_idempotency_key_rotates_once(api_client, organization, receiver):
    endpoint = services.webhook_endpoint_create(organization=organization, url=receiver.url)
    url = f"/api/v1/webhook-endpoints/{endpoint.pk}/rotate-secret/"
    first = api_client.post(url, {"overlap_hours": 24}, format="json", HTTP_IDEMPOTENCY_KEY="rotate-1")
    again = api_client.post(url, {"overlap_hours": 24}, format="json", HTTP_IDEMPOTENCY_KEY="rotate-1")
    assert again["Idempotent-Replayed"] == "true" and again.json()["secret"] == first.json()["secret"]
    endpoint_after = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert endpoint_after.secret == first.json()["secret"] and endpoint_after.previous_secret == endpoint.secret


@pytest.mark.parametrize("overlap", [-1, 169, "a day", None])
def test_api_refuses_an_overlap_out_of_range(api_client, organization, receiver, overlap):
    endpoint = services.webhook_endpoint_create(organization=organization, url=receiver.url)
    response = api_client.post(
        f"/api/v1/webhook-endpoints/{endpoint.pk}/rotate-secret/", {"overlap_hours": overlap}, format="json"
    )
    assert_error(response, 400, "invalid_input")
    assert "overlap_hours" in response.json()["error"]["fields"]
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == endpoint.secret


def test_the_schema_documents_the_rotation(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret/"]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    overlap = schema["components"]["schemas"][ref]["properties"]["overlap_hours"]
    assert overlap["minimum"] == 0 and overlap["maximum"] == 168 and overlap["default"] == 24
    assert "400" in operation["responses"]
    endpoint_schema = schema["components"]["schemas"]["WebhookEndpointWithSecret"]["properties"]
    assert {"secret_rotated_at", "previous_secret_expires_at"} <= set(endpoint_schema)


# --- browser and admin -------------------------------------------------------------------------------------


def test_browser_rotate_with_the_overlap_chosen(browser_client, organization, receiver):
    endpoint = services.webhook_endpoint_create(organization=organization, url=receiver.url)
    page = browser_client.get(reverse("webhooks")).content.decode()
    assert 'name="overlap_hours"' in page and '<option value="24" selected>' in page

    action = reverse("webhook_endpoint_action", args=[endpoint.pk, "rotate"])
    response = browser_client.post(action, {"overlap_hours": "72"}, follow=True)
    endpoint.refresh_from_db()
    assert endpoint.previous_secret and endpoint.previous_secret_signs_until is not None
    page = response.content.decode()
    assert "the old one also signs until" in page and 'data-testid="rotation-overlap"' in page
    assert endpoint.secret in page and endpoint.previous_secret not in page

    refused = browser_client.post(action, {"overlap_hours": "1000"}, follow=True).content.decode()
    assert "from 0 (revoke the old secret now) to 168" in refused
    browser_client.post(action, {"overlap_hours": "0"})
    endpoint.refresh_from_db()
    assert endpoint.previous_secret == "" and endpoint.previous_secret_signs_until is None


def test_admin_shows_the_rotation_state_and_never_a_secret(client, organization, receiver):
    client.force_login(User.objects.create_superuser(email="ops@example.com", password="pw-ops-12345"))
    endpoint = services.webhook_endpoint_create(organization=organization, url=receiver.url)
    endpoint = services.webhook_endpoint_rotate_secret(endpoint=endpoint, overlap_hours=24)
    listing = client.get("/admin/webhooks/webhookendpoint/").content.decode()
    change = client.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/").content.decode()
    for page in (listing, change):
        assert "old and new secret sign until" in page
        assert endpoint.secret not in page and endpoint.previous_secret not in page
        assert "whsec_" not in page
    assert client.get("/admin/webhooks/webhookendpoint/add/").status_code == 403
