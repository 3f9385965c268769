"""`/healthz` and `/readyz`: each check passes on a healthy stack and fails when its dependency really fails."""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connections
from django.test import override_settings
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Task
from django_q.tasks import async_task

from generations import services, ticker
from generations.models import Generation
from seedance_saas import health
from seedance_saas.health import WORKER_HEARTBEAT_KEY, worker_heartbeat
from tests.generations.test_lifecycle import create, generous_trial  # noqa: F401 (autouse fixture)

CLOSED_PORT = 1  # nothing listens on tcpmux: connections are refused at once
CACHE_DOWN = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{CLOSED_PORT}/0",
    }
}


@pytest.fixture
def healthy_pipeline():
    """What a running stack leaves behind: a heartbeat from the schedule and a finished ticker task."""
    worker_heartbeat()
    async_task("generations.tasks.tick")  # sync in tests: runs one pass and is recorded by django-q2
    assert Task.objects.filter(func="generations.tasks.tick", success=True).exists()


def readyz(client):
    response = client.get("/readyz")
    return response, response.json()


def failing(body: dict) -> dict:
    return {name: check["error"] for name, check in body["checks"].items() if check["status"] != "ok"}


def test_healthz_answers_without_touching_any_dependency(client, django_assert_num_queries):
    with override_settings(CACHES=CACHE_DOWN), django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_is_200_with_every_check_ok_on_a_healthy_stack(client, healthy_pipeline):
    response, body = readyz(client)
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {
        "database",
        "cache",
        "broker",
        "media_storage",
        "worker_heartbeat",
        "ticker",
        "queue_age",
        "provider_key",
    }
    assert all(check["status"] == "ok" for check in body["checks"].values())
    assert response["Cache-Control"].startswith("max-age=0")


def test_readyz_is_fast(client, healthy_pipeline):
    client.get("/readyz")  # warm-up: imports, first connection
    timings_ms = []
    for _ in range(20):
        started = time.perf_counter()
        assert client.get("/readyz").status_code == 200
        timings_ms.append((time.perf_counter() - started) * 1000)
    assert statistics.median(timings_ms) < 100, timings_ms


def test_readyz_is_never_throttled(client, healthy_pipeline, settings):
    settings.API_ANONYMOUS_RATE_PER_MINUTE = 1
    assert all(client.get("/readyz").status_code == 200 for _ in range(5))


@pytest.fixture
def unreachable_database():
    """A second alias for the same engine, on a closed port (PostgreSQL) or in a folder that does not exist."""
    config = dict(connections.settings["default"])
    if config["ENGINE"].endswith("sqlite3"):
        config["NAME"] = "/nonexistent-folder/readyz.sqlite3"
    else:
        config.update(HOST="127.0.0.1", PORT=str(CLOSED_PORT))
    connections.settings["unreachable"] = config
    yield "unreachable"
    connections["unreachable"].close()
    del connections.settings["unreachable"]
    if hasattr(connections._connections, "unreachable"):
        delattr(connections._connections, "unreachable")


def test_readyz_fails_when_the_database_is_unreachable_and_names_no_host(client, settings, unreachable_database):
    settings.READYZ_CHECKS = [("seedance_saas.health.Database", {"alias": unreachable_database})]
    response, body = readyz(client)
    assert response.status_code == 503 and response["Retry-After"] == "10"
    assert failing(body) == {"database": "the database does not answer"}
    assert "127.0.0.1" not in response.content.decode() and "nonexistent" not in response.content.decode()


def test_readyz_fails_when_the_cache_is_down(client, healthy_pipeline):
    with override_settings(CACHES=CACHE_DOWN):
        response, body = readyz(client)
    assert response.status_code == 503
    assert failing(body)["cache"] == "the cache does not answer"
    assert body["checks"]["database"]["status"] == "ok"


@pytest.fixture
def fresh_broker():
    health._broker.cache_clear()
    yield
    health._broker.cache_clear()


def test_readyz_fails_when_the_redis_broker_is_down(client, monkeypatch, healthy_pipeline, fresh_broker):
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", f"redis://127.0.0.1:{CLOSED_PORT}/0")
    health._broker.cache_clear()  # the check keeps one broker per process: build it from the patched settings
    response, body = readyz(client)
    assert response.status_code == 503
    assert failing(body) == {"broker": "the task broker does not answer"}


def test_readyz_fails_when_media_storage_cannot_be_written(client, settings, tmp_path, healthy_pipeline):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the media folder should be")
    settings.MEDIA_ROOT = blocker
    response, body = readyz(client)
    assert response.status_code == 503
    assert failing(body) == {"media_storage": "media storage refused a write, read or delete"}


def test_readyz_fails_without_a_worker_heartbeat(client, healthy_pipeline):
    cache.delete(WORKER_HEARTBEAT_KEY)
    response, body = readyz(client)
    assert response.status_code == 503
    assert failing(body) == {"worker_heartbeat": "no worker heartbeat seen: is a qcluster running?"}


def test_readyz_fails_when_the_heartbeat_is_stale(client, settings, healthy_pipeline):
    cache.set(WORKER_HEARTBEAT_KEY, time.time() - settings.READYZ_WORKER_HEARTBEAT_MAX_AGE_S - 5, timeout=None)
    response, body = readyz(client)
    assert response.status_code == 503
    assert "last worker heartbeat" in failing(body)["worker_heartbeat"]


def test_readyz_fails_when_no_ticker_ever_ran(client):
    worker_heartbeat()
    response, body = readyz(client)
    assert response.status_code == 503
    assert failing(body) == {"ticker": "no ticker has run: polling and dispatch are stopped"}


def test_readyz_fails_when_the_last_ticker_ended_long_ago(client, settings, healthy_pipeline):
    Task.objects.filter(func="generations.tasks.tick").update(
        stopped=timezone.now() - timedelta(seconds=settings.READYZ_TICKER_MAX_AGE_S + 10)
    )
    response, body = readyz(client)
    assert response.status_code == 503
    assert "the ticker last ran" in failing(body)["ticker"]


def test_a_ticker_holding_its_lease_counts_as_alive(client, healthy_pipeline):
    Task.objects.filter(func="generations.tasks.tick").delete()
    assert ticker.Lease(owner="node-1:123").acquire_or_renew()
    response, body = readyz(client)
    assert response.status_code == 200, body


def test_readyz_fails_when_the_oldest_queued_generation_is_too_old(client, settings, organization, healthy_pipeline):
    generation = create(organization)
    assert client.get("/readyz").status_code == 200
    Generation.objects.filter(pk=generation.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.READYZ_QUEUE_MAX_AGE_S + 60)
    )
    response, body = readyz(client)
    assert response.status_code == 503
    assert "the oldest queued generation has waited" in failing(body)["queue_age"]


def test_readyz_fails_when_the_provider_refuses_the_key(client, organization, simulator, healthy_pipeline):
    simulator.config.accepted_keys = frozenset({"another-key"})
    create(organization)
    services.dispatch_pending()
    assert services.provider_key_state().stopped_at is not None
    response, body = readyz(client)
    assert response.status_code == 503
    assert "refused the key (401)" in failing(body)["provider_key"]
    simulator.config.accepted_keys = None
    services.provider_resume()
    assert client.get("/readyz").status_code == 200


def test_readyz_fails_while_the_provider_key_is_paused_by_a_429(client, organization, simulator, healthy_pipeline):
    simulator.force_next(status_code=429, retry_after=120)
    create(organization)
    services.dispatch_pending()
    response, body = readyz(client)
    assert response.status_code == 503
    assert "rate-limited by the provider (429)" in failing(body)["provider_key"]
    assert services.provider_key_fingerprint() not in response.content.decode()


def test_migrate_registers_the_worker_heartbeat_schedule():
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="workers: heartbeat")
    assert schedule.func == "seedance_saas.health.worker_heartbeat" and schedule.minutes == 1


def test_a_failing_probe_logs_one_warning_per_check_not_a_request_error(client, caplog):
    with caplog.at_level("WARNING"):
        assert client.get("/readyz").status_code == 503
    assert not [record for record in caplog.records if record.name == "django.request"]
    assert any("worker_heartbeat" in record.getMessage() for record in caplog.records)


def test_probes_are_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/").status_code == 301
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 503  # answered over HTTP (nothing runs here), not redirected
    assert client.get("/metrics").status_code == 404
