"""Give every request an id: the caller's `X-Request-ID` when it is safe to echo, else a new one."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

import structlog
from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's or client's id is kept only if it is short and plain: it is written into every log line and
# echoed in a header, so nothing that could forge a log field, split a header or flood the logs gets through.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

log = structlog.get_logger("seedance_saas.requests")


def request_id_from(header_value: str | None) -> str:
    if header_value and _SAFE_REQUEST_ID.fullmatch(header_value):
        return header_value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """First in the chain: binds request_id for every line logged while the request runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            log.info(
                "request_finished",
                method=request.method,
                path=request.path,
                status=response.status_code,
                duration_ms=round((time.monotonic() - started) * 1000, 1),
            )
            return response
        finally:
            structlog.contextvars.clear_contextvars()


def bind_organization(organization_id: int | None) -> None:
    """Called where the organization becomes known (session membership or API key)."""
    if organization_id is not None:
        structlog.contextvars.bind_contextvars(organization_id=organization_id)
