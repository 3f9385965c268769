"""Prometheus families of the generation pipeline, read from the database at every scrape (seedance_saas/metrics.py).

Provider calls are counted from the ProviderCall rows every process writes (one per create, poll and download,
with its latency and outcome): counters that are right across every worker and machine. Deleting old rows
shows as a counter reset, which Prometheus' rate() and increase() handle.
"""

from __future__ import annotations

import math
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from generations import selectors, services
from generations.models import IN_FLIGHT, Generation, ProviderCall, Status

PROVIDER_LATENCY_BUCKETS_S = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
LAG_QUANTILES = (("0.5", 0.5), ("0.95", 0.95), ("1", 1.0))
_LAG_SAMPLE_LIMIT = 5000


def call_outcome(*, status_code: int | None, error_code: str) -> str:
    """One bounded vocabulary for a provider call's result."""
    if error_code in ("provider_timeout", "provider_network"):
        return error_code.removeprefix("provider_")
    if status_code is None:
        return "error"
    if status_code == 429:
        return "rate_limited"
    if status_code in (401, 403):
        return "auth_refused"
    if status_code >= 500:
        return "server_error"
    if status_code >= 400:
        return "client_error"
    return "ok" if not error_code else "error"


class GenerationsCollector:
    """Generations by status, the queue, provider slots and calls, and the pipeline's lags."""

    def collect(self):
        now = timezone.now()
        key = services.provider_key_fingerprint()[:12]
        yield from self._statuses()
        depth, oldest_s = selectors.queue_depth_and_oldest(now=now)
        yield GaugeMetricFamily("seedance_generations_queued", "Generations waiting to be submitted.", value=depth)
        yield GaugeMetricFamily(
            "seedance_generations_queued_oldest_age_seconds",
            "Age of the oldest queued generation (0 when the queue is empty).",
            value=oldest_s or 0.0,
        )
        yield from self._provider_key(key, now)
        yield from self._provider_calls()
        window_start = now - timedelta(seconds=settings.METRICS_LAG_WINDOW_S)
        submitted = Generation.objects.filter(submitted_at__gte=window_start).values_list("created_at", "submitted_at")
        yield _lag_family(
            "seedance_generation_dispatch_lag_seconds",
            "Queued -> submitting: from creation to (last) submission, for submissions in the lag window.",
            submitted,
        )
        finished = Generation.objects.filter(
            status=Status.SUCCEEDED, completed_at__gte=window_start, provider_completed_at__isnull=False
        ).values_list("provider_completed_at", "completed_at")
        yield _lag_family(
            "seedance_generation_finish_lag_seconds",
            "Provider done -> succeeded (video copied, usage recorded), for successes in the lag window.",
            finished,
        )

    def _statuses(self):
        family = GaugeMetricFamily("seedance_generations", "Generations by status.", labels=["status"])
        rows = Generation.objects.order_by().values("status").annotate(n=Count("pk"))
        counts = {row["status"]: row["n"] for row in rows}
        for status in Status.values:
            family.add_metric([status], counts.get(status, 0))
        yield family

    def _provider_key(self, key: str, now):
        in_flight = Generation.objects.filter(status__in=IN_FLIGHT, provider_completed_at__isnull=True).count()
        family = GaugeMetricFamily(
            "seedance_provider_in_flight", "Jobs holding one of the provider key's slots.", labels=["key"]
        )
        family.add_metric([key], in_flight)
        yield family
        limit = GaugeMetricFamily(
            "seedance_provider_in_flight_limit", "The provider key's concurrent-job limit.", labels=["key"]
        )
        limit.add_metric([key], settings.EACHLABS_MAX_IN_FLIGHT)
        yield limit
        paused = GaugeMetricFamily(
            "seedance_provider_key_paused",
            "1 while dispatch is stopped on the key (a 401, or a 429 pause), else 0.",
            labels=["key"],
        )
        pause = selectors.provider_key_pause(fingerprint=services.provider_key_fingerprint(), now=now)
        paused.add_metric([key], 1 if pause else 0)
        yield paused

    def _provider_calls(self):
        thresholds_ms = [int(bound * 1000) for bound in PROVIDER_LATENCY_BUCKETS_S]
        bucket_counts = {
            f"le_{index}": Count("pk", filter=Q(latency_ms__lte=bound)) for index, bound in enumerate(thresholds_ms)
        }
        rows = (
            ProviderCall.objects.filter(latency_ms__isnull=False)  # null: still running, or its worker died
            .values("kind", "status_code", "error_code")
            .annotate(n=Count("pk"), total_ms=Sum("latency_ms"), **bucket_counts)
        )
        calls = CounterMetricFamily(
            "seedance_provider_calls", "Provider calls by kind and outcome.", labels=["kind", "outcome"]
        )
        rate_limited = CounterMetricFamily("seedance_provider_rate_limited", "Provider answers 429 (any kind of call).")
        by_outcome: dict[tuple[str, str], int] = {}
        by_kind = {kind.value: {"n": 0, "ms": 0, "le": [0] * len(thresholds_ms)} for kind in ProviderCall.Kind}
        limited = 0
        for row in rows:
            outcome = call_outcome(status_code=row["status_code"], error_code=row["error_code"])
            by_outcome[row["kind"], outcome] = by_outcome.get((row["kind"], outcome), 0) + row["n"]
            limited += row["n"] if row["status_code"] == 429 else 0
            kind = by_kind.setdefault(row["kind"], {"n": 0, "ms": 0, "le": [0] * len(thresholds_ms)})
            kind["n"] += row["n"]
            kind["ms"] += row["total_ms"] or 0
            for index in range(len(thresholds_ms)):
                kind["le"][index] += row[f"le_{index}"]
        for (kind, outcome), count in sorted(by_outcome.items()):
            calls.add_metric([kind, outcome], count)
        rate_limited.add_metric([], limited)
        yield calls
        yield rate_limited
        latency = HistogramMetricFamily(
            "seedance_provider_call_duration_seconds", "Provider call latency by kind.", labels=["kind"]
        )
        for kind, figures in sorted(by_kind.items()):
            buckets = [(str(bound), figures["le"][index]) for index, bound in enumerate(PROVIDER_LATENCY_BUCKETS_S)]
            latency.add_metric([kind], buckets + [("+Inf", figures["n"])], sum_value=figures["ms"] / 1000)
        yield latency


def _lag_family(name: str, documentation: str, pairs) -> GaugeMetricFamily:
    lags = sorted(
        max(0.0, (end - start).total_seconds()) for start, end in pairs.order_by()[:_LAG_SAMPLE_LIMIT] if start and end
    )
    family = GaugeMetricFamily(name, documentation + " Labels: quantile (1 = the worst).", labels=["quantile"])
    for label, quantile in LAG_QUANTILES:
        family.add_metric([label], _quantile(lags, quantile))
    return family


def _quantile(sorted_values: list[float], quantile: float) -> float:
    """Nearest-rank quantile; 0 with no samples, so an idle window reads as no lag."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, math.ceil(quantile * len(sorted_values)) - 1))
    return sorted_values[rank]
