"""webhooks.erasure: deliveries about erased objects keep their envelope, lose their data, and stop if pending."""

from __future__ import annotations

from webhooks import erasure, services
from webhooks.models import DeliveryStatus, WebhookDelivery


def test_scrub_replaces_the_data_of_the_named_objects_and_stops_pending_ones(
    organization, other_organization, receiver
):
    endpoint = services.webhook_endpoint_create(organization=organization, url=receiver.url)
    services.webhook_endpoint_create(organization=other_organization, url=receiver.url)
    data = {"id": "gen-1", "prompt": "secret", "status": "succeeded"}
    [pending] = services.event_publish(organization=organization, event_type="generation.succeeded", payload=data)
    [sent] = services.event_publish(organization=organization, event_type="generation.failed", payload=data)
    WebhookDelivery.objects.filter(pk=sent.pk).update(
        status=DeliveryStatus.SUCCEEDED,
        last_response_excerpt="echo: secret",
        attempt_log=[{"at": "2026-12-01T00:00:00Z", "status_code": 200, "response_excerpt": "echo: secret"}],
    )
    [other_id] = services.event_publish(
        organization=organization, event_type="generation.succeeded", payload={**data, "id": "gen-2"}
    )
    [other_tenant] = services.event_publish(
        organization=other_organization, event_type="generation.succeeded", payload=data
    )

    assert erasure.deliveries_scrub(organization=organization, object_ids=["gen-1"]) == 2

    pending.refresh_from_db()
    assert pending.payload["data"] == {"id": "gen-1", "erased": True}
    assert pending.payload["type"] == "generation.succeeded" and pending.payload["id"] == pending.event_id
    assert pending.status == DeliveryStatus.FAILED and pending.next_attempt_at is None
    assert pending.endpoint_id == endpoint.pk
    sent.refresh_from_db()
    assert sent.status == DeliveryStatus.SUCCEEDED and sent.payload["data"] == {"id": "gen-1", "erased": True}
    assert "secret" not in sent.last_response_excerpt and "secret" not in str(sent.attempt_log)
    assert sent.attempt_log[0]["status_code"] == 200
    other_id.refresh_from_db()
    other_tenant.refresh_from_db()
    assert other_id.payload["data"]["prompt"] == "secret" and other_id.status == DeliveryStatus.PENDING
    assert other_tenant.payload["data"]["prompt"] == "secret"  # another organization's is never touched
