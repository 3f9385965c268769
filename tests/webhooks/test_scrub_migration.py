"""webhooks/0002 replaces the exception text older deliveries logged with the short classes (issue 10, finding 2)."""

import importlib

from django.apps import apps

from webhooks.models import WebhookDelivery, WebhookEndpoint

scrub_migration = importlib.import_module("webhooks.migrations.0002_scrub_delivery_errors")

LEAKY = "[Errno 111] Connection refused: 10.0.0.5:6379"


def _delivery(organization, *, last_error, errors):
    endpoint = WebhookEndpoint.objects.create(organization=organization, url="https://partner.example/hook")
    return WebhookDelivery.objects.create(
        organization=organization,
        endpoint=endpoint,
        event_id="evt_1",
        event_type="generation.succeeded",
        payload={},
        last_error=last_error,
        attempt_log=[{"at": "2026-11-30T00:00:00+00:00", "status_code": None, "error": error} for error in errors],
    )


def test_exception_text_becomes_a_short_class_and_short_classes_stay(organization):
    delivery = _delivery(
        organization,
        last_error=LEAKY,
        errors=[LEAKY, "ReadTimeout('timed out reading 10.0.0.5:8080')", "HTTP 502", "timeout", "SSL: CERTIFICATE"],
    )
    scrub_migration.scrub(apps, None)
    delivery.refresh_from_db()
    assert delivery.last_error == "connection refused"
    assert [attempt["error"] for attempt in delivery.attempt_log] == [
        "connection refused",
        "timeout",
        "HTTP 502",
        "timeout",
        "TLS error",
    ]
    assert "10.0.0.5" not in str(delivery.attempt_log)
