"""Sentry: an exception in a view or a task reaches Sentry tagged with our ids and without personal data."""

from __future__ import annotations

import pytest
import sentry_sdk
import structlog
from django.http import HttpRequest
from django.test import override_settings
from django.urls import include, path
from django_q import conf as q_conf
from django_q import worker as q_worker
from django_q.tasks import async_task

from seedance_saas.observability import sentry
from tests.fakes.sentry_server import FakeSentry

SECRET_KEY_IN_ERROR = "sk_live_" + "S" * 43
# Built at run time: Sentry sends the source lines around each frame, and those may show this file's text.
PROMPT = " ".join(["PROMPT-okapi-5521", "walks", "into", "the", "sea"])


def exploding_view(request: HttpRequest):
    raise RuntimeError(f"upstream said no to {request.user.email} with Bearer {SECRET_KEY_IN_ERROR}")


def exploding_task(generation_id: str) -> None:
    structlog.contextvars.bind_contextvars(generation_id=generation_id)  # as generations.tasks.refresh does
    raise ValueError(f"cannot render for owner@example.com: {SECRET_KEY_IN_ERROR}")


urlpatterns = [path("explode/", exploding_view), path("", include("seedance_saas.urls"))]


@pytest.fixture
def fake_sentry():
    server = FakeSentry()
    saved = (q_conf.error_reporter, q_worker.error_reporter)
    sentry.sentry_init(dsn=server.dsn, environment="test")
    sentry.install_worker_reporter()
    yield server
    sentry_sdk.flush(timeout=5)
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)  # off again for the rest of the suite
    q_conf.error_reporter, q_worker.error_reporter = saved
    server.close()


def _single_exception_event(server: FakeSentry, exception_type: str) -> dict:
    sentry_sdk.flush(timeout=5)
    matching = [
        event
        for event in server.events()
        if any(value["type"] == exception_type for value in event.get("exception", {}).get("values", []))
    ]
    assert matching, f"no {exception_type} reached the fake Sentry: {server.raw!r:.500}"
    return matching[0]


def _no_personal_data(server: FakeSentry, *secrets: str) -> None:
    everything = b"".join(server.raw).decode("utf-8", "replace")
    for secret in secrets:
        assert secret not in everything, f"{secret[:14]}… reached Sentry"


@override_settings(ROOT_URLCONF=__name__)
def test_view_exception_reaches_sentry_tagged_and_without_personal_data(
    fake_sentry, browser_client, user, organization
):
    browser_client.cookies["partner_note"] = "cookie-value-9911"
    browser_client.raise_request_exception = False
    response = browser_client.post(
        "/explode/",
        {"prompt": PROMPT, "email": "someone@example.com"},
        HTTP_X_REQUEST_ID="req-sentry-1",
        HTTP_AUTHORIZATION=f"Bearer {SECRET_KEY_IN_ERROR}",
    )
    assert response.status_code == 500
    event = _single_exception_event(fake_sentry, "RuntimeError")
    assert event["tags"]["request_id"] == "req-sentry-1"
    assert event["tags"]["organization_id"] == str(organization.pk)
    assert event["environment"] == "test" and "user" not in event
    assert event["transaction"] == "/explode/"
    _no_personal_data(fake_sentry, user.email, SECRET_KEY_IN_ERROR, PROMPT, "someone@example.com", "cookie-value-9911")
    _no_personal_data(fake_sentry, browser_client.cookies["sessionid"].value)


def test_task_exception_reaches_sentry_with_task_and_generation_tags(fake_sentry):
    with pytest.raises(ValueError):  # sync mode: django-q2 re-raises after reporting
        async_task(f"{__name__}.exploding_task", "0b0e8f5e-1d6c-4f1a-9d5e-3f2a1b0c9d8e", task_name="render")
    event = _single_exception_event(fake_sentry, "ValueError")
    assert event["tags"]["task"] == "render" and event["tags"]["attempt"] == "1"
    assert event["tags"]["generation_id"] == "0b0e8f5e-1d6c-4f1a-9d5e-3f2a1b0c9d8e"
    _no_personal_data(fake_sentry, SECRET_KEY_IN_ERROR, "owner@example.com")


def test_without_a_dsn_nothing_is_sent(settings):
    assert settings.SENTRY_DSN == "" and sentry_sdk.get_client().is_active() is False
