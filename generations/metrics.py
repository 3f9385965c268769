"""Prometheus families of the generation pipeline, read from the database at every scrape (seedance_saas/metrics.py).

Provider calls are the exception: counted by the client into the shared cache (see below).
"""

from __future__ import annotations

import logging
import math
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from generations import provider_key_selectors, selectors
from generations.models import Generation, ProviderCall, Status

logger = logging.getLogger(__name__)

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
        yield from self._statuses()
        depth, oldest_s = selectors.queue_depth_and_oldest(now=now)
        yield GaugeMetricFamily("seedance_generations_queued", "Generations waiting to be submitted.", value=depth)
        yield GaugeMetricFamily(
            "seedance_generations_queued_oldest_age_seconds",
            "Age of the oldest queued generation (0 when the queue is empty).",
            value=oldest_s or 0.0,
        )
        yield from self._provider_keys(now)
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

    def _provider_keys(self, now):
        """Per key, labelled by its label and fingerprint prefix (never the secret)."""
        labels = ["key", "label"]
        in_flight = GaugeMetricFamily(
            "seedance_provider_in_flight", "Jobs holding one of the key's slots.", labels=labels
        )
        limit = GaugeMetricFamily(
            "seedance_provider_in_flight_limit", "The key's configured concurrent-job limit.", labels=labels
        )
        learned = GaugeMetricFamily(
            "seedance_provider_in_flight_limit_learned",
            "The concurrent-job limit dispatch keeps to: lowered by a 429 below the configured one, probing back up.",
            labels=labels,
        )
        paused = GaugeMetricFamily(
            "seedance_provider_key_paused",
            "1 while dispatch is stopped on the key (a 401, or a 429 pause), else 0.",
            labels=labels,
        )
        stopped = GaugeMetricFamily(
            "seedance_provider_key_stopped", "1 after the provider refused the key (401) until resumed.", labels=labels
        )
        for key in provider_key_selectors.provider_key_list():
            names = [key.fingerprint_prefix, key.label]
            in_flight.add_metric(names, provider_key_selectors.key_in_flight(key=key))
            limit.add_metric(names, key.max_in_flight)
            learned.add_metric(names, key.in_flight_limit)
            paused.add_metric(names, 1 if selectors.provider_key_pause(key=key, now=now) else 0)
            stopped.add_metric(names, 1 if key.stopped_at else 0)
        yield from (in_flight, limit, learned, paused, stopped)

    def _provider_calls(self):
        kinds = [kind.value for kind in ProviderCall.Kind]
        bucket_labels = [str(bound) for bound in PROVIDER_LATENCY_BUCKETS_S] + ["+Inf"]
        keys = [_calls_key(kind, outcome) for kind in kinds for outcome in OUTCOMES]
        keys += [_bucket_key(kind, label) for kind in kinds for label in bucket_labels]
        keys += [_sum_key(kind) for kind in kinds]
        counts = cache.get_many(keys)
        calls = CounterMetricFamily(
            "seedance_provider_calls", "Provider calls by kind and outcome.", labels=["kind", "outcome"]
        )
        for kind in kinds:
            for outcome in OUTCOMES:
                calls.add_metric([kind, outcome], counts.get(_calls_key(kind, outcome), 0))
        yield calls
        rate_limited = CounterMetricFamily("seedance_provider_rate_limited", "Provider answers 429 (any kind of call).")
        rate_limited.add_metric([], sum(counts.get(_calls_key(kind, "rate_limited"), 0) for kind in kinds))
        yield rate_limited
        latency = HistogramMetricFamily(
            "seedance_provider_call_duration_seconds", "Provider call latency by kind.", labels=["kind"]
        )
        for kind in kinds:
            cumulative, buckets = 0, []
            for label in bucket_labels:
                cumulative += counts.get(_bucket_key(kind, label), 0)
                buckets.append((label, cumulative))
            latency.add_metric([kind], buckets, sum_value=counts.get(_sum_key(kind), 0) / 1000)
        yield latency


# --- provider call counters: kept in the shared cache ----------------------------------------
# The client reports every finished call (generations/eachlabs/client.py set_call_observer). Counting in the
# shared cache (Redis INCR is atomic) is right across every worker and machine and costs O(1) per scrape;
# aggregating the ProviderCall table instead took ~0.3 s at 200k rows and grows without end. A Redis restart
# reads as a counter reset, which rate() handles. With the database cache (no REDIS_URL) an increment is a
# read and a write, so concurrent calls may lose a count: fine for development, use Redis in production.

OUTCOMES = ("ok", "rate_limited", "auth_refused", "client_error", "server_error", "timeout", "network", "error")
_CACHE_PREFIX = "metrics:provider"


def _calls_key(kind: str, outcome: str) -> str:
    return f"{_CACHE_PREFIX}:calls:{kind}:{outcome}"


def _bucket_key(kind: str, label: str) -> str:
    return f"{_CACHE_PREFIX}:latency:{kind}:{label}"


def _sum_key(kind: str) -> str:
    return f"{_CACHE_PREFIX}:latency_ms_sum:{kind}"


def provider_call_observed(kind: str, error, latency_s: float) -> None:
    """The client's call observer: one call's outcome and latency into the shared counters; never raises."""
    outcome = call_outcome(
        status_code=200 if error is None else error.status_code, error_code="" if error is None else error.code
    )
    bucket = next((str(bound) for bound in PROVIDER_LATENCY_BUCKETS_S if latency_s <= bound), "+Inf")
    try:
        _increment(_calls_key(kind, outcome), 1)
        _increment(_bucket_key(kind, bucket), 1)
        _increment(_sum_key(kind), max(0, round(latency_s * 1000)))
    except Exception:  # a cache outage must never fail a provider call
        logger.warning("Could not count a provider call in the cache.", exc_info=True)


def _increment(key: str, delta: int) -> None:
    try:
        cache.incr(key, delta)
    except ValueError:  # not there yet (or evicted)
        if not cache.add(key, delta, timeout=None):
            cache.incr(key, delta)


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
