"""Production smoke test: the processes of deploy/Procfile, with production settings, on PostgreSQL + Redis.

gunicorn (2 workers), two `qcluster` nodes, the webhooks cluster and the standalone simulator: `check --deploy`
clean, static files served, generations end to end through the API, the MP4 served; then SIGTERM every process
with jobs in flight, each exits within 10 s, restart: no job lost, none submitted twice.
Needs SMOKE_POSTGRES_URL (or a PostgreSQL DATABASE_URL) and REDIS_URL; skips, saying so, otherwise.
"""

from __future__ import annotations

import base64
import io
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from contextlib import closing
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from tests.stack import ROOT, Stack, free_port, simulator_finish_times, wait_for_port, wait_until_terminal

pytestmark = pytest.mark.django_db(transaction=True)
HTTPS = {"X-Forwarded-Proto": "https"}  # what the TLS proxy in front adds


def answers(url: str | None) -> bool:
    if not url:
        return False
    parts = urlsplit(url)
    with closing(socket.socket()) as sock:
        sock.settimeout(1)
        return sock.connect_ex((parts.hostname or "127.0.0.1", parts.port or 0)) == 0


def postgres_admin_url() -> str | None:
    url = os.environ.get("SMOKE_POSTGRES_URL") or os.environ.get("DATABASE_URL", "")
    return url.rsplit("/", 1)[0] + "/postgres" if url.startswith("postgres") else None


def procfile() -> dict[str, tuple[dict[str, str], list[str]]]:
    """name -> (environment assignments, argv), read from deploy/Procfile."""
    entries = {}
    for line in (ROOT / "deploy" / "Procfile").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, command = line.partition(":")
        words = shlex.split(command.split("&&")[0])
        env = {}
        while "=" in words[0]:
            key, _, value = words.pop(0).partition("=")
            env[key] = value
        program = {"python": [sys.executable], "gunicorn": [sys.executable, "-m", "gunicorn"]}[words[0]]
        entries[name.strip()] = (env, program + words[1:])
    return entries


class ProductionStack(Stack):
    """The Stack, but every process started from deploy/Procfile with DJANGO_ENV=production."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.procfile = procfile()
        self.env.pop("DEBUG", None)
        self.env.update(
            DJANGO_ENV="production",
            SECRET_KEY="smoke-" + secrets.token_hex(32),
            PROVIDER_KEY_ENCRYPTION_KEYS=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            GUNICORN_BIND=f"127.0.0.1:{self.web_port}",
            WEB_CONCURRENCY="2",
            # Production refuses a console email backend; nothing here sends email, so a closed port will do.
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(free_port()),
        )
        self.web: subprocess.Popen | None = None

    def _run_procfile(self, name: str, log_name: str) -> subprocess.Popen:
        env, argv = self.procfile[name]
        return self._spawn(log_name, argv, **env)

    def _start_web(self) -> None:
        self.manage("collectstatic", "--noinput")
        self.web = self._run_procfile("web", "web")
        wait_for_port(self.web_port, process=self.web)

    def start_node(self, name: str) -> subprocess.Popen:
        self.nodes[name] = self._run_procfile("worker", name)
        return self.nodes[name]

    def start_webhook_cluster(self) -> None:
        self.nodes["webhooks"] = self._run_procfile("webhooks", "qcluster-webhooks")


def frame_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), (200, 90, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def test_production_processes_from_the_procfile_serve_generate_and_survive_a_full_restart(tmp_path):
    admin_url, redis_url = postgres_admin_url(), os.environ.get("REDIS_URL")
    if not (admin_url and answers(admin_url) and redis_url and answers(redis_url)):
        pytest.skip("the production smoke test needs PostgreSQL (SMOKE_POSTGRES_URL or DATABASE_URL) and REDIS_URL")
    with ProductionStack(tmp_path, latency_s=3, nodes=2, postgres_url=admin_url, redis_url=redis_url) as stack:
        report = stack.manage("check", "--deploy", "--fail-level", "WARNING")
        assert "no issues" in report, report
        slug = stack.manage("create_tenant", "--name", "Smoke", "--owner-email", "smoke@example.com").split()[-1]
        key = stack.manage("create_api_key", "--org", slug, "--name", "smoke").split()[-1]
        base = f"http://127.0.0.1:{stack.web_port}"
        with httpx.Client(base_url=base, headers={**HTTPS, "Authorization": f"Bearer {key}"}, timeout=30) as api:
            static = api.get("/static/css/app.css")
            assert static.status_code == 200 and "text/css" in static.headers["content-type"]

            def create() -> str:
                answer = api.post(
                    "/api/v1/generations/",
                    data={"prompt": "a slow pan", "duration": "4", "resolution": "480p"},
                    files={"image": ("frame.png", frame_png(), "image/png")},
                )
                assert answer.status_code == 201, answer.text
                return answer.json()["id"]

            first = create()
            deadline = time.monotonic() + 60
            while (body := api.get(f"/api/v1/generations/{first}/").json())["status"] != "succeeded":
                assert body["status"] not in ("failed", "canceled"), body
                assert time.monotonic() < deadline, body
                time.sleep(0.5)
            video = httpx.get(body["video_url"], headers=HTTPS, timeout=30)
            assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
            assert video.content[4:8] == b"ftyp"

            in_flight = [create() for _ in range(6)]
        time.sleep(1)
        # SIGTERM every process of the deployment (the provider stays up) with those jobs in flight.
        for name, process in [("web", stack.web), *stack.nodes.items()]:
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
            assert time.monotonic() - started < 10, f"{name} took {time.monotonic() - started:.1f} s to stop"
        stack._start_web()
        for name in ("qcluster", "qcluster-2"):
            stack.start_node(name)
        stack.start_webhook_cluster()
        rows = wait_until_terminal(stack, expected=1 + len(in_flight), timeout_s=90, interval_s=1)
        assert len(simulator_finish_times(stack)) == len(rows)
    assert {row["status"] for row in rows} == {"succeeded"}, rows
    assert all(row["accepted"] == 1 for row in rows), rows
