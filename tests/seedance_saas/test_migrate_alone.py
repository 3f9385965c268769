"""A fresh database plus `manage.py migrate` and nothing else gives a working API and worker (issue 12, 1).

The stack runs exactly `manage.py migrate` on a new database (no createcachetable), then gunicorn, a
qcluster and the standalone simulator; a partner key lists, creates and finishes a generation over HTTP.
"""

from __future__ import annotations

import io
import os
import time

import httpx
import pytest
from django.db import connection
from PIL import Image

from tests.stack import Stack

pytestmark = pytest.mark.django_db(transaction=True)

CREATE_KEY = """
from accounts import services
from accounts.models import User
owner = User.objects.create_user(email="owner@migrate.test", password="pw-migrate-1")
organization = services.organization_create(name="Fresh", owner=owner)
key, secret = services.api_key_create(organization=organization, name="deploy check")
emit(secret)
"""


def setups() -> list:
    on_postgres = connection.vendor == "postgresql"
    needs_postgres = pytest.mark.skipif(not on_postgres, reason="needs PostgreSQL: run the suite with DATABASE_URL")
    needs_redis = pytest.mark.skipif(
        not (on_postgres and os.environ.get("REDIS_URL")), reason="needs PostgreSQL and REDIS_URL"
    )
    return [
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres-without-redis", marks=needs_postgres),
        pytest.param("postgres+redis", id="postgres-with-redis", marks=needs_redis),
    ]


def stack_options(setup: str) -> dict:
    if setup == "sqlite":
        return {}
    options = {"postgres_url": os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"}
    if setup == "postgres+redis":
        options["redis_url"] = os.environ["REDIS_URL"]
    return options


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), (30, 90, 160)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("setup", setups())
def test_migrate_alone_gives_a_working_api_and_worker(tmp_path, setup):
    with Stack(tmp_path, latency_s=1, webhook_cluster=False, **stack_options(setup)) as stack:
        secret = stack.run_python(CREATE_KEY)
        api = httpx.Client(
            base_url=f"http://127.0.0.1:{stack.web_port}/api/v1",
            headers={"Authorization": f"Bearer {secret}"},
            timeout=30,
        )
        listed = api.get("/generations/")
        assert listed.status_code == 200, listed.text

        created = api.post(
            "/generations/",
            data={"prompt": "a slow pan", "resolution": "480p", "duration": "4", "end_user_id": "c-1"},
            files={"image": ("frame.png", png(), "image/png")},
        )
        assert created.status_code == 201, created.text
        generation_url = f"/generations/{created.json()['id']}/"

        deadline = time.monotonic() + 90
        while (body := api.get(generation_url).json())["status"] not in ("succeeded", "failed", "canceled"):
            assert time.monotonic() < deadline, f"not finished: {body}\n{stack.log('qcluster')[-3000:]}"
            time.sleep(0.5)
        assert body["status"] == "succeeded", body
        assert body["video_url"]
