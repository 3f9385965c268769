"""Prometheus families of partner webhook deliveries, read at every scrape (see seedance_saas/metrics.py)."""

from __future__ import annotations

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from webhooks.models import DeliveryStatus, WebhookDelivery


class DeliveriesCollector:
    """Deliveries that ended, by outcome (counters); deliveries still being tried, and the oldest's age."""

    def collect(self):
        rows = WebhookDelivery.objects.order_by().values("status").annotate(n=Count("pk"))
        counts = {row["status"]: row["n"] for row in rows}
        ended = CounterMetricFamily(
            "seedance_webhook_deliveries", "Partner webhook deliveries that ended, by outcome.", labels=["outcome"]
        )
        for outcome in (DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED):
            ended.add_metric([outcome.value], counts.get(outcome, 0))
        yield ended
        yield GaugeMetricFamily(
            "seedance_webhook_deliveries_pending",
            "Partner webhook deliveries not yet delivered nor given up (retrying).",
            value=counts.get(DeliveryStatus.PENDING, 0),
        )
        oldest = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).aggregate(oldest=Min("created_at"))
        yield GaugeMetricFamily(
            "seedance_webhook_deliveries_pending_oldest_age_seconds",
            "Age of the oldest delivery still being tried (0 when none).",
            value=(timezone.now() - oldest["oldest"]).total_seconds() if oldest["oldest"] else 0.0,
        )
