"""The standalone `eachlabs_simulator` command, driven over real HTTP by the client (EACHLABS_BASE_URL)."""

import io
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import av
import httpx
import pytest
from django.conf import settings as django_settings

from generations.eachlabs.client import (
    EachlabsClient,
    PredictionInput,
    PredictionStatus,
    ProviderAuthError,
    ProviderFault,
    ProviderInvalidInput,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderTimeout,
    get_client,
    reset_client,
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def standalone(tmp_path):
    port = free_port()
    command = [sys.executable, "manage.py", "eachlabs_simulator", "--port", str(port), "--latency", "1", "--seed", "7"]
    command += ["--concurrency-limit", "3", "--state-dir", str(tmp_path / "standalone")]
    process = subprocess.Popen(
        command, cwd=django_settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        line = process.stdout.readline()
        assert "listening on" in line, line + (process.stdout.read() if process.poll() is not None else "")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0


@pytest.fixture
def webhook_server():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/eachlabs/secret/", received
    server.shutdown()
    server.server_close()


def wait_for(predicate, timeout_s=15.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_client_talks_to_the_standalone_simulator_over_http(standalone, webhook_server, settings):
    settings.EACHLABS_BASE_URL = standalone
    settings.EACHLABS_API_KEY = "any-non-empty-key"
    settings.EACHLABS_SIMULATED = False
    reset_client()
    client = get_client()
    hook_url, received = webhook_server
    inputs = PredictionInput(prompt="harbour at dawn", image_url="https://img.example.com/a.jpg", duration=4)

    prediction_id = client.create_prediction(inputs, webhook_url=hook_url)
    assert client.get_prediction(prediction_id).status == PredictionStatus.PROCESSING
    result = wait_for(lambda: (r := client.get_prediction(prediction_id)).status != PredictionStatus.PROCESSING and r)
    assert result.status == PredictionStatus.SUCCEEDED and result.output.startswith(standalone.removesuffix("/v1"))
    assert result.predict_time is not None

    buffer = io.BytesIO()
    assert client.download_output(result.output, buffer, max_bytes=10**8) > 1000
    buffer.seek(0)
    with av.open(buffer) as container:
        assert abs(container.duration / av.time_base - 4) < 0.1 and len(container.streams.audio) == 1

    [hook] = wait_for(lambda: received)
    assert hook == {"exec_id": prediction_id, "status": "succeeded", "output": result.output, "error": ""}

    with pytest.raises(ProviderInvalidInput, match="localhost"):  # strict unless --allow-local-urls
        client.create_prediction(PredictionInput(prompt="x", image_url="https://127.0.0.1/a.png"))
    for _ in range(3):
        client.create_prediction(inputs)
    with pytest.raises(ProviderRateLimited) as caught:
        client.create_prediction(inputs)
    assert caught.value.retry_after is not None

    # EACHLABS_BASE_URL wins over the in-process simulator, even with no key (a placeholder key is sent).
    settings.EACHLABS_API_KEY = ""
    settings.EACHLABS_SIMULATED = True
    reset_client()
    placeholder_id = get_client().create_prediction(inputs)
    assert get_client().get_prediction(placeholder_id).status == PredictionStatus.PROCESSING
    with pytest.raises(ProviderNotFound):  # predictions belong to the key that made them
        get_client().get_prediction(prediction_id)
    anonymous = EachlabsClient(base_url=standalone, api_key="", connect_timeout_s=10, read_timeout_s=20)
    with pytest.raises(ProviderAuthError):
        anonymous.get_prediction(prediction_id)


def test_faults_can_be_switched_on_a_running_server(standalone):
    control = standalone.removesuffix("/v1") + "/_simulator/config"
    inputs = PredictionInput(prompt="x", image_url="https://img.example.com/a.jpg")
    client = EachlabsClient(base_url=standalone, api_key="k", connect_timeout_s=10, read_timeout_s=20)
    impatient = EachlabsClient(base_url=standalone, api_key="k", connect_timeout_s=10, read_timeout_s=0.5)

    assert httpx.post(control, timeout=20, json={"response_delay_s": 3}).status_code == 200
    with pytest.raises(ProviderTimeout):  # a real read timeout over a real socket
        impatient.create_prediction(inputs)
    assert httpx.post(control, timeout=20, json={"response_delay_s": 0, "error_5xx_rate": 1.0}).status_code == 200
    with pytest.raises(ProviderFault):
        client.create_prediction(inputs)
    assert httpx.post(control, timeout=20, json={"error_5xx_rate": 0, "error_429_rate": 1}).status_code == 200
    with pytest.raises(ProviderRateLimited):
        client.create_prediction(inputs)
    httpx.post(control, timeout=20, json={"error_429_rate": 0})
    assert client.create_prediction(inputs)

    state = httpx.get(control, timeout=20).json()
    assert state["config"]["error_429_rate"] == 0 and state["stats"]["faults"] == 1
    refused = httpx.post(control, timeout=20, json={"failure_rate": 2})
    assert refused.status_code == 400 and "between 0 and 1" in refused.json()["details"]
    assert httpx.post(control, timeout=20, json={"no_such_knob": 1}).status_code == 400
