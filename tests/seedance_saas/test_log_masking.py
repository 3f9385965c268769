"""The provider webhook's secret in /hooks/eachlabs/<secret>/ never reaches a log line (issue 12, 3)."""

import io
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.stack import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "whk-7f3a9c0e5d1b2468ace"


@pytest.fixture
def console_output():
    """What the configured console handler (settings.LOGGING) writes, filters and all."""
    loggers = [logging.getLogger(), logging.getLogger("django"), logging.getLogger("django.server")]
    handlers = [h for logger in loggers for h in logger.handlers if type(h) is logging.StreamHandler]
    assert handlers, "settings.LOGGING's console handler is not on the root logger"
    stream = io.StringIO()
    previous = [handler.setStream(stream) for handler in handlers]
    yield stream
    for handler, old in zip(handlers, previous, strict=True):
        handler.setStream(old)


def test_django_request_log_masks_the_webhook_secret(client, console_output):
    response = client.post(f"/hooks/eachlabs/{SECRET}/", data={}, content_type="application/json")
    assert response.status_code == 404
    logged = console_output.getvalue()
    assert "Not Found: /hooks/eachlabs/[redacted]/" in logged
    assert SECRET not in logged


def test_development_server_request_line_masks_the_webhook_secret(console_output):
    # django.server logs each request line like this (django/core/servers/basehttp.py).
    logging.getLogger("django.server").warning('"%s" %s %s', f"POST /hooks/eachlabs/{SECRET}/ HTTP/1.1", "404", "61")
    logged = console_output.getvalue()
    assert '"POST /hooks/eachlabs/[redacted]/ HTTP/1.1" 404 61' in logged
    assert SECRET not in logged


def test_gunicorn_access_log_masks_the_webhook_secret(tmp_path):
    """Through the deploy's own gunicorn.conf.py, its logger class and access-log format."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_VERSION", "PYTEST_CURRENT_TEST")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'unused.sqlite3'}"
    log_path = tmp_path / "gunicorn.log"
    command = [
        sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "seedance_saas.wsgi",
        "--bind", f"127.0.0.1:{port}", "--workers", "1", "--access-logfile", "-",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process=server)
        url = f"http://127.0.0.1:{port}/hooks/eachlabs/{SECRET}/?attempt=1"
        answer = httpx.get(url, headers={"Referer": url}, timeout=60)  # GET: 405 before any database work
        assert answer.status_code == 405
        deadline = time.monotonic() + 10
        while "/hooks/eachlabs/[redacted]/" not in log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=15)
    logged = log_path.read_text()
    assert '"GET /hooks/eachlabs/[redacted]/" 405' in logged, logged
    assert SECRET not in logged, logged
