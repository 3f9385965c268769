"""Developers ▸ Webhooks in the browser: endpoints, the delivery log and replay, tenant-scoped."""

from html import unescape

import pytest
from django.urls import reverse

from accounts.models import Role
from tests.factories import MembershipFactory
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint


@pytest.fixture
def delivery(organization, receiver, django_capture_on_commit_callbacks):
    services.webhook_endpoint_create(organization=organization, url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = services.event_publish(organization=organization, event_type="generation.failed", payload={})
    return delivery


def test_page_lists_endpoints_and_deliveries_with_their_attempts(browser_client, delivery):
    page = browser_client.get(reverse("webhooks")).content.decode()
    assert delivery.endpoint.url in page and delivery.event_id in page and delivery.endpoint.secret in page
    detail = unescape(browser_client.get(reverse("webhook_delivery", args=[delivery.pk])).content.decode())
    assert "HTTP 200" in detail and "received with 200" in detail and '"type": "generation.failed"' in detail


def test_owner_adds_an_endpoint_and_sees_field_errors(browser_client, organization, receiver, settings):
    url = reverse("webhook_endpoint_create")
    bad_url = browser_client.post(url, {"url": "https://10.0.0.1/", "event_types": ["generation.failed"]})
    assert bad_url.status_code == 400 and "not a private address" in bad_url.content.decode()
    no_events = browser_client.post(url, {"url": receiver.url})
    assert no_events.status_code == 400 and "This field is required" in no_events.content.decode()
    ok = browser_client.post(url, {"url": receiver.url, "event_types": ["generation.succeeded"]})
    assert ok.status_code == 302
    assert WebhookEndpoint.objects.get(organization=organization).event_types == ["generation.succeeded"]


def test_replay_from_the_browser(browser_client, delivery, receiver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = browser_client.post(reverse("webhook_delivery_replay", args=[delivery.pk]))
    assert response.status_code == 302
    assert WebhookDelivery.objects.filter(replay_of=delivery, status="succeeded").count() == 1
    assert len(receiver.requests) == 2


def test_disable_enable_rotate_delete(browser_client, delivery):
    endpoint = delivery.endpoint
    browser_client.post(reverse("webhook_endpoint_action", args=[endpoint.pk, "disable"]))
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    browser_client.post(reverse("webhook_endpoint_action", args=[endpoint.pk, "enable"]))
    old_secret = endpoint.secret
    browser_client.post(reverse("webhook_endpoint_action", args=[endpoint.pk, "rotate"]))
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.secret != old_secret
    assert browser_client.post(reverse("webhook_endpoint_action", args=[endpoint.pk, "explode"])).status_code == 404
    browser_client.post(reverse("webhook_endpoint_action", args=[endpoint.pk, "delete"]))
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_members_see_but_cannot_change(client, organization, delivery):
    member = MembershipFactory(organization=organization, role=Role.MEMBER).user
    client.force_login(member)
    page = client.get(reverse("webhooks")).content.decode()
    assert delivery.event_id in page and delivery.endpoint.secret not in page
    assert client.post(reverse("webhook_delivery_replay", args=[delivery.pk])).status_code == 403
    assert client.post(reverse("webhook_endpoint_action", args=[delivery.endpoint_id, "delete"])).status_code == 403


def test_another_organizations_objects_answer_404(client, other_organization, delivery):
    from tests.factories import UserFactory

    stranger = UserFactory()
    MembershipFactory(organization=other_organization, user=stranger, role=Role.OWNER)
    client.force_login(stranger)
    assert client.get(reverse("webhook_delivery", args=[delivery.pk])).status_code == 404
    assert client.post(reverse("webhook_delivery_replay", args=[delivery.pk])).status_code == 404
    assert client.post(reverse("webhook_endpoint_action", args=[delivery.endpoint_id, "delete"])).status_code == 404
    assert delivery.event_id not in client.get(reverse("webhooks")).content.decode()
