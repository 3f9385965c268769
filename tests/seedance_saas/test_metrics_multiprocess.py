"""Several gunicorn workers, one scrape: request latency kept in prometheus-client's multiprocess mode adds up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]

SERVE = """
import django
django.setup()
from django.test import Client
client = Client()
for _ in range({requests}):
    assert client.get("/healthz").status_code == 200
"""

SCRAPE = """
import sys
import django
django.setup()
from seedance_saas import metrics
metrics._database_collectors.clear()  # this check is about the per-process families; no database here
sys.stdout.write(metrics.scrape().decode())
"""


def run(code: str, multiproc_dir: Path) -> str:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "seedance_saas.settings",
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir),
    }
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def healthz_count(exposition: str) -> float:
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == "seedance_http_request_duration_seconds_count" and sample.labels["route"] == "healthz":
                return sample.value
    return 0.0


def test_two_processes_count_requests_and_a_third_one_scrapes_the_sum(tmp_path):
    run(SERVE.format(requests=3), tmp_path)
    run(SERVE.format(requests=4), tmp_path)
    assert len(list(tmp_path.glob("histogram_*.db"))) == 2  # one file per process
    assert healthz_count(run(SCRAPE, tmp_path)) == 7
