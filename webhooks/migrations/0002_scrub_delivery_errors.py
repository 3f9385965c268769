"""Deliveries logged before the short error classes kept the sender's exception text, which could tell a partner
about our network (issue 10). Replace any such text, in `last_error` and in each attempt, with a short class."""

import re

from django.db import migrations

# The classes webhooks/transport.py and webhooks/services.py write; frozen here, as migrations must be.
SHORT = {
    "",
    "DNS failure",
    "address not allowed",
    "connection refused",
    "connection failed",
    "TLS error",
    "timeout",
    "invalid HTTP response",
    "The endpoint was disabled.",
    "The endpoint is disabled.",
}
HTTP_STATUS = re.compile(r"HTTP \d{3}")


def short_class(error: str | None) -> str:
    error = error or ""
    if error in SHORT or HTTP_STATUS.fullmatch(error):
        return error
    lowered = error.lower()
    if "timed out" in lowered or "timeout" in lowered:
        return "timeout"
    if "refused" in lowered:
        return "connection refused"
    if "ssl" in lowered or "certificate" in lowered:
        return "TLS error"
    return "connection failed"


def scrub(apps, schema_editor):
    WebhookDelivery = apps.get_model("webhooks", "WebhookDelivery")
    for delivery in WebhookDelivery.objects.only("pk", "last_error", "attempt_log").iterator(chunk_size=500):
        log = [
            {**attempt, "error": short_class(attempt.get("error"))} if isinstance(attempt, dict) else attempt
            for attempt in delivery.attempt_log or []
        ]
        last_error = short_class(delivery.last_error)
        if last_error != delivery.last_error or log != delivery.attempt_log:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(last_error=last_error, attempt_log=log)


class Migration(migrations.Migration):
    atomic = False  # each row's update commits at once: no long lock on a big table while webhooks send
    dependencies = [("webhooks", "0001_initial")]
    operations = [migrations.RunPython(scrub, migrations.RunPython.noop, elidable=True)]
