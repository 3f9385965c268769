"""Sentry for web and workers, when SENTRY_DSN is set: tagged with our log context, without personal data."""

from __future__ import annotations

from typing import Any

import sentry_sdk
import structlog
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import LoggingIntegration

from seedance_saas.observability.redaction import scrub

# The log context that becomes searchable tags on every event.
TAGGED_CONTEXT = ("request_id", "organization_id", "generation_id", "task", "task_id", "attempt")


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """Tag the event with the ids bound for this request or task, then scrub it like a log line."""
    context = structlog.contextvars.get_contextvars()
    tags = event.setdefault("tags", {})
    for name in TAGGED_CONTEXT:
        if context.get(name) is not None:
            tags.setdefault(name, str(context[name]))
    event.pop("user", None)  # an id or address Django's integration might still add
    return scrub(event)


def sentry_init(*, dsn: str, environment: str, release: str = "", traces_sample_rate: float = 0.0) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        send_default_pii=False,  # no user emails, IPs, cookies or request bodies
        include_local_variables=False,  # a frame's locals can hold a prompt or a key
        max_request_body_size="never",
        traces_sample_rate=traces_sample_rate,
        integrations=[DjangoIntegration(), LoggingIntegration(event_level="ERROR")],
        before_send=before_send,
        before_breadcrumb=lambda crumb, hint: scrub(crumb),
    )


class SentryErrorReporter:
    """django-q2's error-reporter interface: `report()` is called inside the worker's `except` block."""

    def report(self) -> None:
        sentry_sdk.capture_exception()


def install_worker_reporter() -> None:
    """Hand django-q2's worker our reporter.

    django-q2 builds `Q_CLUSTER["error_reporter"]` only from installed plugin packages (entry points); the
    one for Sentry (django-q-sentry) is unmaintained and would call sentry_sdk.init() again with its own
    options. The worker looks `error_reporter` up at call time, so we set it on that module.
    """
    from django_q import conf, worker

    reporter = conf.ErrorReporter([SentryErrorReporter()])
    conf.error_reporter = reporter
    worker.error_reporter = reporter
