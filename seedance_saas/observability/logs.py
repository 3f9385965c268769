"""structlog over the standard library: one JSON object a line in production, readable lines in development.

Every log line, ours (structlog or `logging.getLogger`) and the libraries' (Django, django-q2), goes through
the same chain: the context bound for the request or task (request_id, organization_id, generation_id, task,
attempt), level, logger, time, then the redaction processor, then the renderer.
"""

from __future__ import annotations

import structlog
from structlog.typing import Processor

from seedance_saas.observability.redaction import redact_processor

# Run on every line, structlog's and the standard library's alike, before the formatter renders it.
SHARED_PROCESSORS: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.ExtraAdder(),
    structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
]


def formatter_processors(*, json: bool) -> list[Processor]:
    """The formatter's chain: tidy, render exceptions, redact, render the line."""
    # Tracebacks become text before redaction, so a secret in an exception's message is scrubbed too.
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    return [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        structlog.processors.format_exc_info,
        redact_processor,
        renderer,
    ]


def formatter(*, json: bool) -> structlog.stdlib.ProcessorFormatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED_PROCESSORS, processors=formatter_processors(json=json)
    )


def logging_config(*, json: bool, level: str) -> dict:
    """The LOGGING setting: one console handler on the root logger with our formatter."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": {"()": formatter, "json": json}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
            # Replace Django's own handlers (an unredacted console in DEBUG, mail_admins, django.server's request
            # lines): every line, the provider webhook's secret in /hooks/eachlabs/<secret>/ included, goes through
            # the one redacting handler.
            "django": {"handlers": [], "propagate": True},
            "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }


def configure_structlog() -> None:
    """structlog loggers hand their events to the standard library, whose handler renders them."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
