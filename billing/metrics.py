"""Prometheus families of billing, read from the ledger at every scrape (see seedance_saas/metrics.py)."""

from __future__ import annotations

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from billing.models import ReportState, UsageRecord


class UsageReportingCollector:
    """Usage owed to Stripe and not yet acknowledged: how much, and how long the oldest has waited."""

    def collect(self):
        figures = UsageRecord.objects.filter(report_state=ReportState.PENDING).aggregate(
            count=Count("pk"), oldest=Min("completed_at")
        )
        oldest = figures["oldest"]
        yield GaugeMetricFamily(
            "seedance_usage_unreported",
            "Usage records owed to Stripe and not yet acknowledged (report_state=pending).",
            value=figures["count"],
        )
        yield GaugeMetricFamily(
            "seedance_usage_unreported_oldest_age_seconds",
            "Age of the oldest usage record not yet reported to Stripe (0 when none).",
            value=(timezone.now() - oldest).total_seconds() if oldest else 0.0,
        )
        yield GaugeMetricFamily(
            "seedance_usage_report_failed",
            "Usage records Stripe refused (report_state=failed): an operator must look.",
            value=UsageRecord.objects.filter(report_state=ReportState.FAILED).count(),
        )
