"""Redis or the database down: 503 with Retry-After and `dependency_unavailable`, throttling fails open, and
everything recovers by itself when the dependency returns (issue 12, 3). The dependencies really go away."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.test import APIClient

from generations.models import Generation
from seedance_saas import throttling
from tests.outage import RedisServer
from tests.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
BODY = {
    "prompt": "a red square drifts to the right",
    "image_url": "https://partner.example/frames/first.png",
    "resolution": "480p",
    "duration": "5",
    "aspect_ratio": "16:9",
    "end_user_id": "customer-42",
}


@pytest.fixture
def redis_server(settings, monkeypatch):
    if not RedisServer.available():
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(free_port())
    server.start()
    suite_caches = settings.CACHES
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{server.port}/0",
            "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 2.0},
        }
    }
    monkeypatch.setattr(throttling, "CACHE_DOWN_RETRY_S", 0.5)  # the real 5 s would only slow the test
    monkeypatch.setattr(throttling, "_cache_down_until", 0.0)
    yield server
    settings.CACHES = suite_caches  # before the suite's own teardown clears the cache
    server.stop()


def assert_unavailable(response) -> None:
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "dependency_unavailable"


def reads_until_throttled(client, attempts: int = 3) -> list[int]:
    return [client.get("/api/v1/generations/").status_code for _ in range(attempts)]


def test_redis_down_fails_open_answers_503_where_it_is_needed_and_recovers(redis_server, settings, api_client, caplog):
    settings.API_READ_RATE_PER_MINUTE = 1
    settings.TRIAL_CREDIT_USD = Decimal(100)
    assert 429 in reads_until_throttled(api_client)  # the limit is counted in Redis

    redis_server.stop()
    # Public pricing and authenticated calls go on: the rate limit fails open, with a warning.
    assert APIClient().get("/api/v1/pricing/").status_code == 200
    assert reads_until_throttled(api_client) == [200, 200, 200]
    assert "API rate limits are not enforced: the cache is unavailable" in caplog.text
    # A create is saved and answered; only the dispatcher's wake-up waits for the ticker.
    created = api_client.post("/api/v1/generations/", BODY, format="json")
    assert created.status_code == 201, created.content
    generation = Generation.objects.get(pk=created.json()["id"])
    # The provider's webhook needs the cache: 503 + Retry-After, and the provider sends it again later.
    hook = APIClient().post(f"/hooks/eachlabs/{generation.webhook_secret}/", {}, format="json")
    assert_unavailable(hook)

    redis_server.start()
    time.sleep(0.6)  # past the throttle's pause
    assert 429 in reads_until_throttled(api_client)  # counted again
    assert APIClient().post(f"/hooks/eachlabs/{generation.webhook_secret}/", {}, format="json").status_code == 200


OUTAGE_SCRIPT = r"""
import json, os
from django.db import close_old_connections
from django.test import Client
from django.urls import reverse
from accounts import services
from accounts.models import User
from tests.outage import TcpRelay

relay = TcpRelay(int(os.environ["RELAY_PORT"]), 5432) if os.environ.get("RELAY_PORT") else None
if relay:
    relay.start()
owner = User.objects.create_user(email="owner@outage.test", password="pw-outage-1")
organization = services.organization_create(name="Outage", owner=owner)
key, secret = services.api_key_create(organization=organization, name="outage")
api = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {secret}")
browser = Client(raise_request_exception=False)
browser.force_login(owner)
public = Client(raise_request_exception=False)

def snapshot():
    answers = {}
    for name, client, path in [
        ("api", api, "/api/v1/generations/"), ("pricing", public, "/api/v1/pricing/"),
        ("page", browser, reverse("dashboard")),
    ]:
        # What Django does at the start of every request under a real server (the test client skips it): drop
        # connections that are too old or broken, so the next query reconnects.
        close_old_connections()
        r = client.get(path)
        answers[name] = {"status": r.status_code, "retry_after": r.headers.get("Retry-After"),
                         "type": r.headers.get("Content-Type"), "body": r.content[:400].decode(errors="replace")}
    return answers

def down():
    if relay: relay.stop()
    else: os.rename(os.environ["DB_DIR"], os.environ["DB_DIR"] + "-away")

def back():
    if relay: relay.start()
    else: os.rename(os.environ["DB_DIR"] + "-away", os.environ["DB_DIR"])

result = {"up": snapshot()}
down()
result["down"] = snapshot()
back()
result["back"] = snapshot()
print("@@" + json.dumps(result))
"""


def run_outage(tmp_path, database_url: str, *, migrate_url: str | None = None, **extra_env: str) -> dict:
    # PYTEST_VERSION stays: plain static files (no collectstatic manifest) with DEBUG off, as in the suite.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_CURRENT_TEST", "REDIS_URL")}
    env.update(
        DATABASE_URL=migrate_url or database_url,
        DEBUG="false",
        SECRET_KEY="outage-" + "x" * 50,
        SECURE_SSL_REDIRECT="false",
        MEDIA_ROOT=str(tmp_path / "media"),
        **extra_env,
    )

    def manage(*args):
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    manage("migrate", "--noinput")
    env["DATABASE_URL"] = database_url
    out = manage("shell", "-c", OUTAGE_SCRIPT)
    return json.loads(out.split("@@")[-1])


def assert_outage_and_recovery(result: dict) -> None:
    all_ok = {"api": 200, "pricing": 200, "page": 200}
    assert {name: answer["status"] for name, answer in result["up"].items()} == all_ok
    down = result["down"]
    for name in ("api", "pricing", "page"):
        assert down[name]["status"] == 503, (name, down[name])
        assert down[name]["retry_after"] == "5", (name, down[name])
    assert json.loads(down["api"]["body"])["error"]["code"] == "dependency_unavailable"
    assert down["page"]["type"].startswith("text/html") and "Back in a moment" in down["page"]["body"]
    assert {name: answer["status"] for name, answer in result["back"].items()} == all_ok


def test_sqlite_database_gone_answers_503_and_recovers(tmp_path):
    database_dir = tmp_path / "db"
    database_dir.mkdir()
    result = run_outage(tmp_path, f"sqlite:///{database_dir / 'outage.sqlite3'}", DB_DIR=str(database_dir))
    assert_outage_and_recovery(result)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgresql_connection_lost_answers_503_and_recovers(tmp_path):
    name = f"seedance_outage_{os.getpid()}"
    admin_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    relay_port = free_port()
    try:
        # Migrate straight to the server; the app then reaches it only through the relay the script cuts.
        relay_url = admin_url.replace(":5432", f":{relay_port}") + f"/{name}"
        result = run_outage(tmp_path, relay_url, migrate_url=f"{admin_url}/{name}", RELAY_PORT=str(relay_port))
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert_outage_and_recovery(result)


def test_a_503_for_an_outage_is_not_logged_again_as_an_error(rf, caplog):
    """One warning per request is enough: Django's own ERROR line (and so a Sentry event) for each 503 would
    flood both during an outage."""
    from django.utils.log import log_response

    from seedance_saas.dependencies import unavailable_response

    request = rf.get("/api/v1/generations/")
    response = unavailable_response(request)
    with caplog.at_level("WARNING", logger="django.request"):
        log_response("Service Unavailable: %s", request.path, response=response, request=request)
    assert response.status_code == 503
    assert [r for r in caplog.records if r.name == "django.request"] == []
