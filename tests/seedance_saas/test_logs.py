"""Logs: one JSON object a line in production, request ids, worker context, and no secret in any line."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import structlog
from django.utils import timezone
from django_q.tasks import async_task

from generations import services as generation_services
from generations.models import Generation, Status
from webhooks import services as webhook_services

BASE_DIR = Path(__file__).resolve().parents[2]
GENERATIONS = "/api/v1/generations/"


@pytest.fixture(autouse=True)
def generous_trial(settings):
    settings.TRIAL_CREDIT_USD = Decimal(1000)


def _probe_output(**env) -> str:
    """What a fresh process with these variables writes when the standard library and structlog each log a line."""
    code = (
        "import django, logging, structlog; django.setup(); "
        "logging.getLogger('probe').warning('stdlib line %s', 7); "
        "structlog.get_logger('probe').info('structlog_line', answer=42)"
    )
    environment = {k: v for k, v in os.environ.items() if k not in ("LOG_FORMAT", "DJANGO_ENV", "PYTEST_VERSION")}
    environment.update(DJANGO_SETTINGS_MODULE="seedance_saas.settings", **env)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_log_format_json_writes_one_json_object_a_line_with_time_level_event():
    lines = [json.loads(line) for line in _probe_output(LOG_FORMAT="json").splitlines()]
    stdlib, structured = lines
    assert stdlib["event"] == "stdlib line 7" and stdlib["level"] == "warning" and stdlib["logger"] == "probe"
    assert structured["event"] == "structlog_line" and structured["level"] == "info" and structured["answer"] == 42
    assert structured["time"].endswith("Z") and structured["time"][:4].isdigit()


def test_development_writes_readable_lines_not_json():
    output = _probe_output(LOG_FORMAT="console")
    assert "stdlib line 7" in output and "structlog_line" in output and "answer=42" in output
    with pytest.raises(json.JSONDecodeError):
        json.loads(output.splitlines()[0])


def test_request_id_from_a_safe_header_is_logged_and_sent_back(client, json_logs):
    response = client.get("/", HTTP_X_REQUEST_ID="edge-7f3a9c:01")
    assert response["X-Request-ID"] == "edge-7f3a9c:01"
    (finished,) = json_logs.events("request_finished")
    assert finished["request_id"] == "edge-7f3a9c:01" and finished["status"] == response.status_code
    assert finished["path"] == "/" and finished["method"] == "GET" and "time" in finished


def test_request_id_is_made_when_absent_and_differs_per_request(client, json_logs):
    first, second = client.get("/")["X-Request-ID"], client.get("/")["X-Request-ID"]
    assert len(first) == 32 and first != second
    assert [line["request_id"] for line in json_logs.events("request_finished")] == [first, second]


@pytest.mark.parametrize(
    "hostile",
    [
        'x", "level": "critical',  # would forge a field in a naive log line
        "a" * 129,  # too long
        "abc def",  # space
        "id\twith-tab",
        "<script>",
    ],
)
def test_hostile_request_id_is_replaced_never_echoed(client, json_logs, hostile):
    response = client.get("/", HTTP_X_REQUEST_ID=hostile)
    request_id = response["X-Request-ID"]
    assert request_id != hostile and len(request_id) == 32 and request_id.isalnum()
    assert hostile not in json_logs.text
    assert json_logs.events("request_finished")[0]["request_id"] == request_id


def test_api_lines_carry_the_organization_of_the_key(api_client, organization, json_logs):
    response = api_client.get(GENERATIONS, HTTP_X_REQUEST_ID="req-org-1")
    assert response.status_code == 200
    (finished,) = json_logs.events("request_finished")
    assert finished["organization_id"] == organization.pk and finished["request_id"] == "req-org-1"


def test_browser_lines_carry_the_active_organization(browser_client, organization, json_logs):
    browser_client.get("/app/")
    assert json_logs.events("request_finished")[0]["organization_id"] == organization.pk


def _api_generation(api_client, **overrides) -> Generation:
    body = {
        "prompt": "a red square drifts to the right",
        "image_url": "https://partner.example/frames/first.png",
        "resolution": "480p",
        "duration": "5",
        **overrides,
    }
    response = api_client.post(GENERATIONS, body, format="json")
    assert response.status_code == 201, response.content
    return Generation.objects.get(pk=response.json()["id"])


def test_lifecycle_lines_carry_generation_and_organization(api_client, organization, simulator, json_logs):
    generation = _api_generation(api_client)
    generation_services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    assert Generation.objects.get(pk=generation.pk).status == Status.SUCCEEDED
    transitions = json_logs.events("generation_transition")
    assert [line["to_status"] for line in transitions] == ["submitting", "processing", "succeeded"]
    for line in transitions + json_logs.events("generation_created"):
        assert line["generation_id"] == str(generation.pk) and line["organization_id"] == organization.pk
    # Lines logged while the refresh ran (the download's provider call) carry the generation's id too.
    bound = [line for line in json_logs.lines() if line.get("generation_id") == str(generation.pk)]
    assert len(bound) > len(transitions)


def test_worker_lines_carry_task_name_and_attempt(api_client, organization, simulator, json_logs):
    generation = _api_generation(api_client)
    generation_services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    Generation.objects.filter(pk=generation.pk).update(next_poll_at=timezone.now())
    with structlog.contextvars.bound_contextvars(request_id="outer-request"):
        async_task("generations.tasks.refresh", str(generation.pk), task_name="refresh")
        # A task run inline (sync mode) hands its caller's context back when it ends.
        assert structlog.contextvars.get_contextvars() == {"request_id": "outer-request"}
    (succeeded,) = [line for line in json_logs.events("generation_transition") if line["to_status"] == "succeeded"]
    assert succeeded["task"] == "refresh" and succeeded["attempt"] == 1 and succeeded["task_id"]
    assert succeeded["generation_id"] == str(generation.pk)


def test_a_task_delivered_again_counts_its_attempt(json_logs):
    from django_q.models import Task
    from django_q.signals import post_execute_in_worker, pre_execute

    Task.objects.create(
        id="a" * 32, name="refresh", func="generations.tasks.refresh", started=timezone.now(),
        stopped=timezone.now(), success=False, attempt_count=1,
    )  # fmt: skip
    task = {"id": "a" * 32, "name": "refresh", "func": "generations.tasks.refresh"}
    pre_execute.send(sender="django_q", func=None, task=task)
    logging.getLogger("probe").info("inside the task")
    post_execute_in_worker.send(sender="django_q", func=None, task=task)
    logging.getLogger("probe").info("after the task")
    inside, after = json_logs.lines()[-2:]
    assert inside["attempt"] == 2 and inside["task"] == "refresh"
    assert "task" not in after and "attempt" not in after


def test_redaction_blanks_sensitive_fields_and_secrets_inside_messages(json_logs):
    secret_key = "sk_live_" + "Q" * 43
    logging.getLogger("probe").warning(
        "login for alice@example.com with Bearer %s at /hooks/eachlabs/hooksecret123/ signed whsec_c2VjcmV0PQ==",
        secret_key,
    )
    structlog.get_logger("probe").info("created", prompt="a secret plan", email="bob@example.com", api_key="k-1")
    text = json_logs.text
    for leaked in (secret_key, "alice@example.com", "hooksecret123", "whsec_c2VjcmV0PQ", "a secret plan", "bob@"):
        assert leaked not in text
    created = json_logs.events("created")[0]
    assert created["prompt"] == created["email"] == created["api_key"] == "[redacted]"


def test_no_prompt_email_key_or_webhook_secret_in_any_line(
    api_client, api_key, organization, simulator, receiver, client, json_logs, django_capture_on_commit_callbacks
):
    prompt = "PROMPT-zebra-7781 dances on the moon"
    email = "carol.partner-user@example.org"
    endpoint = webhook_services.webhook_endpoint_create(organization=organization, url=receiver.url)
    generation = _api_generation(api_client, prompt=prompt, end_user_id=email)
    # A wrong key and a wrong provider-webhook secret: both are logged by Django as 4xx with the path.
    bad_key = "sk_live_" + "Z" * 43
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {bad_key}")
    assert api_client.get(GENERATIONS).status_code == 401
    with django_capture_on_commit_callbacks(execute=True):
        generation_services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    with django_capture_on_commit_callbacks(execute=True):
        simulator.deliver_webhooks()
    with django_capture_on_commit_callbacks(execute=True):
        generation_services.generation_publish_terminal_event(generation_id=generation.pk)
    generation.refresh_from_db()
    assert generation.status == Status.SUCCEEDED and receiver.requests
    assert client.post(f"/hooks/eachlabs/{generation.webhook_secret}x/").status_code == 404
    assert client.post(f"/hooks/eachlabs/{generation.webhook_secret}/").status_code == 200

    text = json_logs.text
    assert "request_finished" in text and "generation_transition" in text  # the scan saw real traffic
    for secret in (prompt, "zebra-7781", email, api_key.secret, bad_key, generation.webhook_secret, endpoint.secret):
        assert secret not in text, f"{secret[:12]}… leaked into the logs"


def test_a_secret_in_an_exception_is_scrubbed_from_its_traceback(json_logs):
    try:
        raise ValueError("upstream refused Bearer sk_live_" + "T" * 40 + " for dave@example.com")
    except ValueError:
        logging.getLogger("probe").exception("call failed")
    (line,) = json_logs.events("call failed")
    assert "ValueError" in line["exception"] and "T" * 40 not in line["exception"] and "dave@" not in json_logs.text
