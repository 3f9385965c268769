"""Webhooks the simulator sends: payload, timing, retries on non-2xx, losses, delivery into this app."""

import json

import httpx
import pytest

from generations.eachlabs.client import PredictionInput, PredictionStatus, get_client, parse_webhook
from tests.provider_simulator import receiver_urls

HOOK = "https://our.host/hooks/eachlabs/s3cret/"


class Receiver:
    """The webhook receiver at the boundary: records every POST and answers the scripted statuses."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.statuses.pop(0) if self.statuses else 200)

    @property
    def bodies(self) -> list[dict]:
        return [json.loads(request.content) for request in self.requests]


@pytest.fixture
def receiver(simulator):
    catcher = Receiver()
    simulator.webhook_transport = httpx.MockTransport(catcher)
    return catcher


def submit(**overrides) -> str:
    inputs = PredictionInput(prompt="waves", image_url="https://images.example.com/a.png", duration=4)
    return get_client().create_prediction(inputs, webhook_url=overrides.get("webhook_url", HOOK))


def test_webhook_is_sent_once_when_the_job_ends(simulator, receiver):
    prediction_id = submit()
    simulator.advance(simulator.config.latency_s - 1)
    assert simulator.deliver_webhooks() == 0 and receiver.requests == []
    simulator.advance(1)
    assert simulator.deliver_webhooks() == 1
    [request] = receiver.requests
    assert str(request.url) == HOOK and request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    output = get_client().get_prediction(prediction_id).output
    assert receiver.bodies == [{"exec_id": prediction_id, "status": "succeeded", "output": output, "error": ""}]
    assert simulator.deliver_webhooks() == 0 and len(receiver.requests) == 1


def test_failed_job_webhook_says_failed_with_the_error(simulator, receiver):
    simulator.config.failure_rate = 1.0
    prediction_id = submit()
    simulator.advance(simulator.config.latency_s)
    simulator.deliver_webhooks()
    [body] = receiver.bodies
    assert body["exec_id"] == prediction_id and body["status"] == "failed" and body["output"] == ""
    assert "could not generate" in body["error"]
    result = parse_webhook(body)
    assert result.status == PredictionStatus.FAILED and result.message == body["error"]


def test_non_2xx_answers_are_retried_with_backoff(simulator, receiver):
    receiver.statuses = [500, 429]
    prediction_id = submit()
    simulator.advance(simulator.config.latency_s)
    assert simulator.deliver_webhooks() == 0  # 500
    first_retry_s, second_retry_s = simulator.config.webhook_retry_delays_s[:2]
    simulator.advance(first_retry_s - 1)
    assert simulator.deliver_webhooks() == 0 and len(receiver.requests) == 1  # not due yet
    simulator.advance(1)
    assert simulator.deliver_webhooks() == 0  # 429
    simulator.advance(second_retry_s)
    assert simulator.deliver_webhooks() == 1
    assert len(receiver.requests) == 3 and len({json.dumps(body) for body in receiver.bodies}) == 1
    state = simulator.webhook_state(prediction_id)
    assert (state["state"], state["attempts"], state["last_status"]) == ("delivered", 3, 200)


def test_delivery_gives_up_after_the_configured_attempts(simulator, receiver):
    simulator.config.webhook_attempts = 3
    receiver.statuses = [503] * 10
    prediction_id = submit()
    simulator.advance(simulator.config.latency_s)
    for _ in range(6):
        simulator.deliver_webhooks()
        simulator.advance(300)
    assert len(receiver.requests) == 3
    assert simulator.webhook_state(prediction_id)["state"] == "gave_up"


def test_unreachable_receivers_are_retried_too(simulator):
    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    simulator.webhook_transport = httpx.MockTransport(refuse)
    prediction_id = submit()
    simulator.advance(simulator.config.latency_s)
    assert simulator.deliver_webhooks() == 0
    state = simulator.webhook_state(prediction_id)
    assert state["state"] == "pending" and state["attempts"] == 1 and "ConnectError" in state["last_error"]


def test_lost_and_disabled_webhooks_are_never_sent(simulator, receiver):
    simulator.config.webhook_loss_rate = 1.0
    submit()
    simulator.config.webhook_loss_rate = 0.0
    simulator.config.webhooks_enabled = False
    submit()
    simulator.advance(simulator.config.latency_s + 600)
    assert simulator.deliver_webhooks() == 0 and receiver.requests == []
    assert simulator.stats["webhooks_lost"] == 2


def test_slow_webhooks_arrive_late(simulator, receiver):
    simulator.config.webhook_delay_s = 120
    submit()
    simulator.advance(simulator.config.latency_s + 119)
    assert simulator.deliver_webhooks() == 0
    simulator.advance(1)
    assert simulator.deliver_webhooks() == 1


@pytest.mark.urls("tests.provider_simulator.receiver_urls")
def test_webhooks_to_site_url_reach_this_django_app_without_a_server(simulator, settings):
    receiver_urls.received.clear()
    prediction_id = submit(webhook_url=f"{settings.SITE_URL}/hooks/eachlabs/abc123/")
    simulator.advance(simulator.config.latency_s)
    assert simulator.deliver_webhooks() == 1
    assert receiver_urls.received == [
        {
            "secret": "abc123",
            "body": {
                "exec_id": prediction_id,
                "status": "succeeded",
                "output": f"{settings.SITE_URL}/simulator/outputs/{prediction_id}.mp4",
                "error": "",
            },
            "content_type": "application/json",
        }
    ]
