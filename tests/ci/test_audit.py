""".ci/audit: the real pip-audit against a local stand-in for PyPI's vulnerability feed.

Fails on a known vulnerability; skips, saying so, when the feed cannot be reached (the only case this machine
knows: pypi.org answers 404 for every package, which pip-audit alone reports as a pass).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytest.importorskip("pip_audit", reason="pip-audit is a dev requirement: pip install -r requirements-dev.txt")

ROOT = Path(__file__).resolve().parents[2]
VULNERABILITY = {
    "id": "PYSEC-0000-TEST",
    "aliases": ["CVE-0000-0001"],
    "summary": "A test vulnerability.",
    "fixed_in": ["99.0"],
    "withdrawn": None,
}


class Feed(BaseHTTPRequestHandler):
    mode = "clean"  # clean | vulnerable | not_found | down

    def do_GET(self):
        parts = self.path.strip("/").split("/")  # pypi/<name>[/<version>]/json
        if self.mode == "down" or (self.mode == "not_found" and len(parts) == 4):
            self.send_error(404)
            return
        vulns = [VULNERABILITY] if self.mode == "vulnerable" and parts[1] == "django" else []
        body = json.dumps({"info": {"name": parts[1]}, "vulnerabilities": vulns}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def feed():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Feed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()
    Feed.mode = "clean"


def run_audit(tmp_path, feed_url: str, probe_url: str | None = None, requirements="django==5.2.19\nhttpx==0.28.1\n"):
    (tmp_path / "requirements.txt").write_text(requirements)
    wrapper = tmp_path / "pip-audit"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{ROOT / "tests/ci/pip_audit_via_feed.py"}" "$@"\n')
    wrapper.chmod(0o755)
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "PIP_AUDIT": str(wrapper),
        "AUDIT_FEED_URL": feed_url,
        "AUDIT_PROBE_URL": probe_url or f"{feed_url}/pypi/pip/json",
        "AUDIT_REQUIREMENTS": str(tmp_path / "requirements.txt"),
        "PIP_AUDIT_ARGS": f"--no-deps --disable-pip --cache-dir {tmp_path / 'cache'}",
    }
    result = subprocess.run(["bash", ROOT / ".ci/audit"], env=env, capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout + result.stderr


def url(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_a_known_vulnerability_fails_and_names_it(tmp_path, feed):
    Feed.mode = "vulnerable"
    code, output = run_audit(tmp_path, url(feed))
    assert code == 1, output
    assert "VULNERABLE django 5.2.19: PYSEC-0000-TEST (fixed in: 99.0)" in output


def test_clean_requirements_pass(tmp_path, feed):
    code, output = run_audit(tmp_path, url(feed))
    assert code == 0, output
    assert "no known vulnerabilities in 2 packages" in output


def test_a_feed_answering_404_for_every_package_is_a_skip_not_a_pass(tmp_path, feed):
    # What pypi.org does from this machine: the probe answers, every package 404s, pip-audit alone exits 0.
    Feed.mode = "not_found"
    code, output = run_audit(tmp_path, url(feed))
    assert code == 0, output
    assert "skipped: vulnerability database unreachable" in output and "no known vulnerabilities" not in output


@pytest.mark.parametrize("mode", ["probe answers 404", "probe refused"])
def test_an_unreachable_feed_skips_before_resolving_anything(tmp_path, feed, mode):
    Feed.mode = "down"
    probe = f"{url(feed)}/pypi/pip/json" if mode == "probe answers 404" else "http://127.0.0.1:9/pypi/pip/json"
    code, output = run_audit(tmp_path, "http://127.0.0.1:9", probe_url=probe)
    assert code == 0, output
    assert output.startswith("pip-audit: skipped: vulnerability database unreachable")


def test_a_feed_that_drops_connections_mid_audit_is_a_skip(tmp_path, feed):
    code, output = run_audit(tmp_path, "http://127.0.0.1:9", probe_url=f"{url(feed)}/pypi/pip/json")
    assert code == 0, output
    assert "skipped: vulnerability database unreachable (ConnectionError" in output


def test_any_other_pip_audit_failure_fails(tmp_path, feed):
    # --disable-pip needs pinned requirements: pip-audit refuses, and so does the audit.
    code, output = run_audit(tmp_path, url(feed), requirements="django>=5\n")
    assert code != 0, output
    assert "pip-audit failed" in output
