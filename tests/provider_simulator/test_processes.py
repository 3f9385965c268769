"""The in-process simulator is shared by every process on the machine: jobs and limits live in one folder."""

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

from generations.eachlabs.client import PredictionInput, PredictionStatus, ProviderRateLimited, get_client

CREATE_TEN = """
from generations.eachlabs.client import PredictionInput, get_client
client = get_client()
for _ in range(10):
    print(client.create_prediction(PredictionInput(prompt="x", image_url="https://img.example.com/a.png")))
"""


def test_jobs_created_in_another_process_are_seen_here_and_count_against_the_limit(settings, tmp_path):
    settings.EACHLABS_SIMULATOR_DIR = tmp_path / "shared"
    settings.EACHLABS_SIMULATOR_LATENCY = 120.0
    environment = {
        **os.environ,
        "EACHLABS_SIMULATOR_DIR": str(tmp_path / "shared"),
        "EACHLABS_SIMULATOR_LATENCY": "120",
        "EACHLABS_API_KEY": "",
        "EACHLABS_BASE_URL": "https://api.eachlabs.ai/v1",
    }
    worker = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", CREATE_TEN],
        cwd=django_settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert worker.returncode == 0, worker.stderr
    ids = [line for line in worker.stdout.split() if line.count("-") == 4]
    assert len(ids) == 10
    client = get_client()
    assert {client.get_prediction(prediction_id).status for prediction_id in ids} == {PredictionStatus.PROCESSING}
    with pytest.raises(ProviderRateLimited):
        client.create_prediction(PredictionInput(prompt="x", image_url="https://img.example.com/a.png"))
