"""The client against the simulator: every row of the upstream contract and its typed error."""

import io
import socket
from datetime import timedelta
from email.utils import format_datetime

import httpx
import pytest
from django.utils import timezone

from generations.eachlabs.client import (
    MODEL_SLUG,
    EachlabsClient,
    EachlabsError,
    InvalidWebhook,
    PredictionInput,
    PredictionStatus,
    ProviderAuthError,
    ProviderFault,
    ProviderInvalidInput,
    ProviderNetworkError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderTimeout,
    get_client,
    parse_webhook,
)

IMAGE = "https://images.example.com/first.png"


def make_input(**overrides) -> PredictionInput:
    return PredictionInput(**{"prompt": "a lighthouse in a storm", "image_url": IMAGE, **overrides})


def sim_client(simulator, **overrides) -> EachlabsClient:
    options = {
        "base_url": "https://api.eachlabs.ai/v1",
        "api_key": "test-key",
        "connect_timeout_s": 1,
        "read_timeout_s": 5,
        "transport": simulator.transport(api_base_url="https://api.eachlabs.ai/v1"),
    }
    return EachlabsClient(**{**options, **overrides})


def test_payload_follows_the_contract(simulator):
    full = make_input(
        end_image_url="https://images.example.com/last.webp",
        resolution="480p",
        duration=7,
        aspect_ratio="9:16",
        generate_audio=False,
        seed=42,
        end_user_id="eu_abc",
    )
    prediction_id = get_client().create_prediction(full, webhook_url="https://our.host/hooks/eachlabs/s3cret/")
    sent = simulator.job(prediction_id).input
    assert sent == {
        "prompt": "a lighthouse in a storm",
        "image_url": IMAGE,
        "end_image_url": "https://images.example.com/last.webp",
        "resolution": "480p",
        "duration": "7",
        "aspect_ratio": "9:16",
        "generate_audio": False,
        "seed": "42",
        "end_user_id": "eu_abc",
    }
    assert simulator.webhook_state(prediction_id)["url"] == "https://our.host/hooks/eachlabs/s3cret/"


def test_fields_not_given_are_left_out(simulator):
    prediction_id = get_client().create_prediction(make_input(duration="auto"))
    assert simulator.job(prediction_id).input == {
        "prompt": "a lighthouse in a storm",
        "image_url": IMAGE,
        "duration": "auto",
    }
    assert simulator.webhook_state(prediction_id) is None


def test_poll_goes_from_processing_to_succeeded_with_output_and_predict_time(simulator):
    client = get_client()
    prediction_id = client.create_prediction(make_input(duration=4))
    first = client.get_prediction(prediction_id)
    assert (first.id, first.status, first.output, first.predict_time) == (
        prediction_id,
        PredictionStatus.PROCESSING,
        None,
        None,
    )
    simulator.advance(simulator.config.latency_s)
    done = client.get_prediction(prediction_id)
    assert done.status == PredictionStatus.SUCCEEDED
    assert done.output.startswith("http://127.0.0.1:8000/simulator/outputs/") and done.output.endswith(".mp4")
    assert 0 < done.predict_time <= simulator.config.latency_s


def test_failed_job_reports_error_with_message_and_details(simulator):
    simulator.config.failure_rate = 1.0
    client = get_client()
    prediction_id = client.create_prediction(make_input())
    simulator.advance(simulator.config.latency_s + 1)
    result = client.get_prediction(prediction_id)
    assert result.status == PredictionStatus.FAILED and result.output is None
    assert result.message == "Prediction failed" and "could not generate" in result.details


def test_invalid_input_is_400_with_the_providers_message_and_details(simulator):
    with pytest.raises(ProviderInvalidInput) as caught:
        get_client().create_prediction(make_input(resolution="1080p", aspect_ratio="2:1"))
    error = caught.value
    assert (error.status_code, error.code, error.retryable) == (400, "provider_invalid_input", False)
    assert "resolution" in error.message
    assert "resolution" in error.details and "aspect_ratio" in error.details


def test_missing_key_is_401(simulator):
    with pytest.raises(ProviderAuthError) as caught:
        sim_client(simulator, api_key="").create_prediction(make_input())
    assert (caught.value.status_code, caught.value.code, caught.value.retryable) == (401, "provider_auth", False)


def test_refused_key_is_401_on_create_and_poll(simulator):
    prediction_id = get_client().create_prediction(make_input())
    simulator.config.accepted_keys = frozenset({"someone-else"})
    with pytest.raises(ProviderAuthError, match="Invalid API key"):
        get_client().create_prediction(make_input())
    with pytest.raises(ProviderAuthError):
        get_client().get_prediction(prediction_id)


def test_unknown_model_is_404(simulator):
    with pytest.raises(ProviderNotFound) as caught:
        sim_client(simulator, model="bytedance-seedance-9").create_prediction(make_input())
    assert (caught.value.status_code, caught.value.code, caught.value.retryable) == (404, "provider_not_found", False)
    assert "Model not found" in caught.value.message


def test_unknown_prediction_id_is_404(simulator):
    with pytest.raises(ProviderNotFound, match="Prediction not found"):
        get_client().get_prediction("00000000-0000-0000-0000-000000000000")


def test_another_keys_prediction_is_404(simulator):
    prediction_id = get_client().create_prediction(make_input())
    with pytest.raises(ProviderNotFound):
        sim_client(simulator, api_key="another-key").get_prediction(prediction_id)


def test_429_carries_retry_after(simulator):
    simulator.force_next(status_code=429, retry_after=3)
    with pytest.raises(ProviderRateLimited) as caught:
        get_client().create_prediction(make_input())
    error = caught.value
    assert (error.status_code, error.code, error.retryable, error.retry_after) == (
        429,
        "provider_rate_limited",
        True,
        3.0,
    )
    assert simulator.stats["creates"] == 0 and simulator.stats["rate_limited"] == 1


def test_429_without_retry_after_has_none(simulator):
    simulator.force_next(status_code=429)
    with pytest.raises(ProviderRateLimited) as caught:
        get_client().create_prediction(make_input())
    assert caught.value.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_a_retryable_fault(simulator, status):
    simulator.force_next(status_code=status, method="GET")
    prediction_id = get_client().create_prediction(make_input())  # the POST is not scripted
    with pytest.raises(ProviderFault) as caught:
        get_client().get_prediction(prediction_id)
    assert (caught.value.status_code, caught.value.code, caught.value.retryable) == (status, "provider_fault", True)


def test_429_and_5xx_storms_refuse_every_call(simulator):
    simulator.config.error_5xx_rate = 1.0
    for _ in range(3):
        with pytest.raises(ProviderFault):
            get_client().create_prediction(make_input())
    simulator.config.error_5xx_rate = 0.0
    simulator.config.error_429_rate = 1.0
    with pytest.raises(ProviderRateLimited) as caught:
        get_client().create_prediction(make_input())
    assert caught.value.retry_after == simulator.config.storm_retry_after_s
    simulator.config.error_429_rate = 0.0
    assert get_client().create_prediction(make_input())
    assert simulator.stats["creates"] == 1


def test_timeout_after_the_provider_processed_the_call(simulator):
    simulator.force_next(timeout=True)
    with pytest.raises(ProviderTimeout) as caught:
        get_client().create_prediction(make_input())
    assert (caught.value.code, caught.value.retryable, caught.value.status_code) == ("provider_timeout", True, None)
    assert simulator.stats["creates"] == 1  # the job exists upstream though we never learned its id


def test_slow_answers_past_the_read_timeout_time_out(simulator, settings):
    settings.EACHLABS_READ_TIMEOUT_S = 2.0
    from generations.eachlabs.client import reset_client

    reset_client()
    simulator.config.response_delay_s = 1.0
    assert get_client().create_prediction(make_input())  # slow but in time
    simulator.config.response_delay_s = 3.0
    with pytest.raises(ProviderTimeout):
        get_client().create_prediction(make_input())


def test_network_error_before_reaching_the_provider(simulator):
    simulator.force_next(network_error=True)
    with pytest.raises(ProviderNetworkError) as caught:
        get_client().create_prediction(make_input())
    assert (caught.value.code, caught.value.retryable) == ("provider_network", True)
    assert simulator.stats["create_requests"] == 0


def test_connection_refused_over_real_http_is_a_network_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = EachlabsClient(base_url=f"http://127.0.0.1:{port}/v1", api_key="k", connect_timeout_s=1, read_timeout_s=1)
    with pytest.raises(ProviderNetworkError):
        client.get_prediction("abc")


def test_the_api_key_never_appears_in_errors(simulator):
    client = sim_client(simulator, api_key="sk-very-secret-key")
    simulator.force_next(status_code=400, message="bad key sk-very-secret-key", details="key=sk-very-secret-key")
    with pytest.raises(ProviderInvalidInput) as caught:
        client.create_prediction(make_input())
    assert "sk-very-secret" not in str(caught.value) + caught.value.details
    assert "sk-very-secret" not in repr(client)


def test_concurrency_limit_refuses_the_11th_job_in_flight(simulator):
    client = get_client()
    for _ in range(10):
        client.create_prediction(make_input())
    with pytest.raises(ProviderRateLimited) as caught:
        client.create_prediction(make_input())
    assert "10 concurrent" in caught.value.message
    assert 0 < caught.value.retry_after <= simulator.config.latency_s
    simulator.advance(simulator.config.latency_s)  # the first ten finish and free their slots
    assert client.create_prediction(make_input())


def test_create_limit_refuses_the_101st_create_in_a_minute(simulator):
    simulator.config.concurrency_limit = 1000
    client = get_client()
    for _ in range(100):
        client.create_prediction(make_input())
        simulator.advance(0.5)  # 100 creates over 50 s
    with pytest.raises(ProviderRateLimited) as caught:
        client.create_prediction(make_input())
    assert "100 creates per minute" in caught.value.message
    assert caught.value.retry_after == 10  # the oldest create leaves the window 10 s later
    simulator.advance(10)
    assert client.create_prediction(make_input())
    assert simulator.stats["creates"] == 101 and simulator.stats["rate_limited"] == 1


def test_limits_are_configurable_and_per_key(simulator):
    simulator.config.concurrency_limit = 2
    simulator.config.create_limit = 3
    client = get_client()
    client.create_prediction(make_input())
    client.create_prediction(make_input())
    with pytest.raises(ProviderRateLimited, match="2 concurrent"):
        client.create_prediction(make_input())
    other = sim_client(simulator, api_key="other-key")
    other.create_prediction(make_input())  # another key has its own budget
    simulator.advance(simulator.config.latency_s)
    client.create_prediction(make_input())
    with pytest.raises(ProviderRateLimited, match="3 creates per minute"):
        client.create_prediction(make_input())


def test_output_downloads_then_expires(simulator):
    simulator.config.output_retention_s = 600
    client = get_client()
    prediction_id = client.create_prediction(make_input(duration=4))
    simulator.advance(simulator.config.latency_s)
    url = client.get_prediction(prediction_id).output
    buffer = io.BytesIO()
    size = client.download_output(url, buffer, max_bytes=50 * 1024 * 1024)
    assert size == len(buffer.getvalue()) > 1000 and buffer.getvalue()[4:8] == b"ftyp"
    simulator.advance(600)
    with pytest.raises(ProviderNotFound) as caught:
        client.download_output(url, io.BytesIO(), max_bytes=50 * 1024 * 1024)
    assert caught.value.status_code == 404
    assert client.get_prediction(prediction_id).status == PredictionStatus.SUCCEEDED  # the record outlives the URL


def test_output_is_not_there_before_the_job_finishes(simulator):
    client = get_client()
    prediction_id = client.create_prediction(make_input())
    url = f"http://127.0.0.1:8000/simulator/outputs/{prediction_id}.mp4"
    with pytest.raises(ProviderNotFound):
        client.download_output(url, io.BytesIO(), max_bytes=10**8)


def test_download_refuses_outputs_past_max_bytes(simulator):
    client = get_client()
    prediction_id = client.create_prediction(make_input(duration=4))
    simulator.advance(simulator.config.latency_s)
    buffer = io.BytesIO()
    with pytest.raises(EachlabsError) as caught:
        client.download_output(client.get_prediction(prediction_id).output, buffer, max_bytes=1000)
    assert caught.value.code == "output_too_large" and not caught.value.retryable
    assert len(buffer.getvalue()) <= 1000


def test_django_serves_simulator_outputs_until_they_expire(simulator, client):
    simulator.config.output_retention_s = 60
    prediction_id = get_client().create_prediction(make_input(duration=4))
    path = f"/simulator/outputs/{prediction_id}.mp4"
    assert client.get(path).status_code == 404  # still processing
    simulator.advance(simulator.config.latency_s)
    response = client.get(path)
    assert response.status_code == 200 and response["Content-Type"] == "video/mp4"
    assert b"".join(response.streaming_content)[4:8] == b"ftyp"
    simulator.advance(60)
    assert client.get(path).status_code == 404


def test_parse_webhook_normalizes_the_webhook_vocabulary():
    done = parse_webhook({"exec_id": "p1", "status": "succeeded", "output": "https://cdn/x.mp4", "error": ""})
    assert (done.id, done.status, done.output, done.message) == (
        "p1",
        PredictionStatus.SUCCEEDED,
        "https://cdn/x.mp4",
        "",
    )
    failed = parse_webhook({"exec_id": "p2", "status": "failed", "output": "", "error": "moderation"})
    assert (failed.status, failed.output, failed.message) == (PredictionStatus.FAILED, None, "moderation")


@pytest.mark.parametrize(
    "payload",
    [None, [], {}, {"exec_id": "", "status": "succeeded"}, {"exec_id": "p", "status": "processing"}, {"exec_id": "p"}],
)
def test_parse_webhook_refuses_malformed_bodies(payload):
    with pytest.raises(InvalidWebhook):
        parse_webhook(payload)


def test_model_slug_is_the_contracts():
    assert MODEL_SLUG == "bytedance-seedance-2-0-image-to-video"


def test_expired_outputs_are_swept_from_disk(simulator):
    simulator.config.output_retention_s = 60
    prediction_id = get_client().create_prediction(make_input(duration=4))
    simulator.advance(simulator.config.latency_s)
    path = simulator.output_file(prediction_id)
    simulator.sweep()
    assert path.exists()
    simulator.advance(60)
    simulator.sweep()
    assert not path.exists()


def test_retry_after_may_be_an_http_date():
    when = format_datetime(timezone.now() + timedelta(seconds=90), usegmt=True)

    def provider(request):
        return httpx.Response(429, headers={"Retry-After": when}, json={"status": "error", "message": "slow down"})

    client = EachlabsClient(
        base_url="https://api.eachlabs.ai/v1",
        api_key="k",
        connect_timeout_s=1,
        read_timeout_s=1,
        transport=httpx.MockTransport(provider),
    )
    with pytest.raises(ProviderRateLimited) as caught:
        client.create_prediction(make_input())
    assert 85 <= caught.value.retry_after <= 90 and caught.value.message == "slow down"
