"""`/metrics`: who may scrape it, and that every family is there and moves with the pipeline."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from billing.models import ReportState, UsageRecord
from generations import services
from generations.models import Generation, Status
from tests.generations.test_lifecycle import create, generous_trial  # noqa: F401 (autouse fixture)
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

TOKEN = "scrape-token-for-tests"


@pytest.fixture(autouse=True)
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []


def scrape(client) -> dict[str, dict[tuple, float]]:
    """{sample name: {sorted label items: value}} from one authorized scrape."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples[name][tuple(sorted(labels.items()))]


# --- access -------------------------------------------------------------------------------


def test_metrics_answer_404_while_neither_token_nor_network_is_configured(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_metrics_refuse_a_missing_or_wrong_token(client):
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_metrics_open_to_an_allowed_network_by_the_real_client_address(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["10.1.0.0/16", "fd00::/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="fd00::5").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.2.0.1").status_code == 403
    # Without trusted proxies, a forged X-Forwarded-For is ignored (seedance_saas/client_ip.py).
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 403
    settings.TRUSTED_PROXY_COUNT = 1
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 200


def test_metrics_are_never_throttled(client, settings):
    settings.API_ANONYMOUS_RATE_PER_MINUTE = 1
    for _ in range(5):
        assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


# --- families and values ------------------------------------------------------------------


def test_every_family_is_present_on_an_empty_system(client):
    samples = scrape(client)
    for name in (
        "seedance_generations",
        "seedance_generations_queued",
        "seedance_generations_queued_oldest_age_seconds",
        "seedance_provider_in_flight",
        "seedance_provider_in_flight_limit",
        "seedance_provider_key_paused",
        "seedance_provider_rate_limited_total",
        "seedance_provider_call_duration_seconds_bucket",
        "seedance_generation_dispatch_lag_seconds",
        "seedance_generation_finish_lag_seconds",
        "seedance_webhook_deliveries_total",
        "seedance_webhook_deliveries_pending",
        "seedance_webhook_deliveries_pending_oldest_age_seconds",
        "seedance_usage_unreported",
        "seedance_usage_unreported_oldest_age_seconds",
        "seedance_usage_report_failed",
    ):
        assert name in samples, name
    assert value(samples, "seedance_generations", status="queued") == 0
    key = {"key": services.provider_key_fingerprint()[:12], "label": "shared (simulator)"}
    assert value(samples, "seedance_provider_in_flight_limit", **key) == 10
    assert value(samples, "seedance_provider_in_flight_limit_learned", **key) == 10


def test_queue_depth_oldest_age_and_statuses_follow_the_generations(client, organization, simulator):
    first, second = create(organization), create(organization)
    Generation.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(seconds=300))
    samples = scrape(client)
    assert value(samples, "seedance_generations_queued") == 2
    assert value(samples, "seedance_generations", status="queued") == 2
    assert 299 <= value(samples, "seedance_generations_queued_oldest_age_seconds") < 330
    services.generation_cancel(generation=second)
    assert services.dispatch_pending() == 1
    samples = scrape(client)
    key = services.provider_key_fingerprint()[:12]
    label = "shared (simulator)"
    assert value(samples, "seedance_generations_queued") == 0
    assert value(samples, "seedance_generations", status="processing") == 1
    assert value(samples, "seedance_generations", status="canceled") == 1
    assert value(samples, "seedance_provider_in_flight", key=key, label=label) == 1
    lag = value(samples, "seedance_generation_dispatch_lag_seconds", quantile="1")
    assert 299 <= lag < 330, lag


def test_provider_calls_count_outcomes_429s_and_latency_through_the_simulator(client, organization, simulator):
    simulator.force_next(status_code=429, retry_after=1)
    generation = create(organization)
    services.dispatch_pending()
    samples = scrape(client)
    key = services.provider_key_fingerprint()[:12]
    label = "shared (simulator)"
    assert value(samples, "seedance_provider_calls_total", kind="create", outcome="rate_limited") == 1
    assert value(samples, "seedance_provider_rate_limited_total") == 1
    assert value(samples, "seedance_provider_key_paused", key=key, label=label) == 1

    Generation.objects.filter(pk=generation.pk).update(not_before=None)
    services.provider_resume()  # also dispatches again (tasks run inline in tests)
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    assert Generation.objects.get(pk=generation.pk).status == Status.SUCCEEDED
    samples = scrape(client)
    assert value(samples, "seedance_provider_calls_total", kind="create", outcome="ok") == 1
    assert value(samples, "seedance_provider_calls_total", kind="get", outcome="ok") >= 1
    assert value(samples, "seedance_provider_calls_total", kind="download", outcome="ok") == 1
    assert value(samples, "seedance_provider_key_paused", key=key, label=label) == 0
    assert value(samples, "seedance_provider_call_duration_seconds_count", kind="create") == 2
    assert value(samples, "seedance_provider_call_duration_seconds_bucket", kind="create", le="+Inf") == 2
    assert value(samples, "seedance_provider_call_duration_seconds_bucket", kind="create", le="60.0") == 2
    assert value(samples, "seedance_generations", status="succeeded") == 1
    assert value(samples, "seedance_generation_finish_lag_seconds", quantile="1") >= 0


def test_finish_lag_is_provider_done_to_succeeded(client, organization, simulator):
    generation = create(organization)
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    finished = Generation.objects.get(pk=generation.pk)
    assert finished.status == Status.SUCCEEDED
    Generation.objects.filter(pk=generation.pk).update(
        provider_completed_at=finished.completed_at - timedelta(seconds=42)
    )
    assert value(scrape(client), "seedance_generation_finish_lag_seconds", quantile="0.5") == pytest.approx(42)


def test_usage_not_yet_reported_to_stripe_is_counted_with_its_age(client, organization, simulator):
    generation = create(organization)
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    record = UsageRecord.objects.get(source_id=generation.pk)
    assert value(scrape(client), "seedance_usage_unreported") == 0
    UsageRecord.objects.filter(pk=record.pk).update(
        report_state=ReportState.PENDING, completed_at=timezone.now() - timedelta(hours=2)
    )
    samples = scrape(client)
    assert value(samples, "seedance_usage_unreported") == 1
    assert 7190 < value(samples, "seedance_usage_unreported_oldest_age_seconds") < 7300


def test_partner_webhook_deliveries_by_outcome(client, organization):
    endpoint = WebhookEndpoint.objects.create(
        organization=organization, url="https://partner.example/hooks", secret="whsec_dGVzdA=="
    )
    for status in (DeliveryStatus.SUCCEEDED, DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED, DeliveryStatus.PENDING):
        WebhookDelivery.objects.create(
            organization=organization,
            endpoint=endpoint,
            event_id="evt",
            event_type="generation.succeeded",
            payload={},
            status=status,
        )
    samples = scrape(client)
    assert value(samples, "seedance_webhook_deliveries_total", outcome="succeeded") == 2
    assert value(samples, "seedance_webhook_deliveries_total", outcome="failed") == 1
    assert value(samples, "seedance_webhook_deliveries_pending") == 1


def test_request_latency_is_labelled_by_route_not_path(client, organization):
    generation = create(organization)
    client.get(f"/api/v1/generations/{generation.pk}/")
    client.get("/no/such/page/")
    samples = scrape(client)
    routes = {dict(labels)["route"] for labels in samples["seedance_http_request_duration_seconds_count"]}
    assert "unmatched" in routes
    assert not any(str(generation.pk) in route for route in routes)
    assert any("generation" in route for route in routes), routes


def test_provider_faults_and_timeouts_are_counted_by_outcome(client, organization, simulator):
    simulator.force_next(status_code=500)
    create(organization)
    services.dispatch_pending()
    Generation.objects.filter(status=Status.QUEUED).update(not_before=None)
    simulator.force_next(network_error=True)
    services.dispatch_pending()
    samples = scrape(client)
    assert value(samples, "seedance_provider_calls_total", kind="create", outcome="server_error") == 1
    assert value(samples, "seedance_provider_calls_total", kind="create", outcome="network") == 1
    assert value(samples, "seedance_provider_calls_total", kind="create", outcome="ok") == 0
    assert value(samples, "seedance_provider_call_duration_seconds_count", kind="create") == 2


def test_docs_describe_every_metric_family_and_the_readme_every_setting(client):
    root = Path(__file__).resolve().parents[2]
    client.get("/healthz")  # the request histogram has samples
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    exposition = response.content.decode()
    families = {family.name for family in text_string_to_metric_families(exposition) if "seedance_" in family.name}
    assert len(families) == 20
    docs = (root / "docs" / "metrics.md").read_text()
    undocumented = {name for name in families if f"`{name}`" not in docs and f"`{name}_total`" not in docs}
    assert not undocumented
    readme = (root / "README.md").read_text()
    production = readme.index("## Production\n")
    assert production < readme.index("### Health, readiness and metrics") < readme.index("## Security\n")
    for variable in (
        "READYZ_WORKER_HEARTBEAT_MAX_AGE_S",
        "READYZ_TICKER_MAX_AGE_S",
        "READYZ_QUEUE_MAX_AGE_S",
        "METRICS_TOKEN",
        "METRICS_ALLOWED_NETWORKS",
        "METRICS_LAG_WINDOW_S",
        "PROMETHEUS_MULTIPROC_DIR",
    ):
        assert f"| `{variable}` |" in readme, variable
