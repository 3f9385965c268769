"""A database or cache that is down answers 503 with Retry-After and the code `dependency_unavailable`, never a 500."""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

logger = logging.getLogger(__name__)

try:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    _REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError)
except ImportError:  # redis is only needed with REDIS_URL
    _REDIS_ERRORS = ()

# Django wraps every driver's connection and server-side failures (refused, reset, "the database system is
# shutting down", SQLite's "unable to open database file") in these two.
_DATABASE_ERRORS = (OperationalError, InterfaceError)
DEPENDENCY_ERRORS = _DATABASE_ERRORS + _REDIS_ERRORS

CODE = "dependency_unavailable"
MESSAGE = "A service we depend on is unavailable for a moment; nothing was lost. Try again in a few seconds."
HTML = (
    "<!doctype html><title>Back in a moment</title><h1>Back in a moment</h1>"
    "<p>A service we depend on is unavailable for a moment. Reload the page in a few seconds.</p>"
)


def dependency_name(exc: BaseException | None) -> str | None:
    """'database' or 'cache' when exc means that dependency is unreachable, else None."""
    if isinstance(exc, _DATABASE_ERRORS):
        return "database"
    if _REDIS_ERRORS and isinstance(exc, _REDIS_ERRORS):
        return "cache"
    return None


def retry_after() -> str:
    return str(settings.DEPENDENCY_RETRY_AFTER_S)


def log_dependency_down(exc: BaseException, where: str) -> None:
    # One line, no traceback: an outage would otherwise fill the logs with identical stack traces.
    logger.warning("%s unavailable in %s: %s: %s", dependency_name(exc), where, type(exc).__name__, exc)


def error_json() -> dict:
    return {"error": {"code": CODE, "message": MESSAGE}}


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """JSON for the API and inbound webhooks (machines), a short page for browsers; no template, no database."""
    if request.path.startswith(("/api/", "/hooks/")):
        response = JsonResponse(error_json(), status=503)
    else:
        response = HttpResponse(HTML, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = retry_after()
    response["Cache-Control"] = "no-store"
    # One warning per request is logged already: not also an ERROR (and a Sentry event) per call in an outage.
    response._has_been_logged = True
    return response


class DependencyUnavailableMiddleware:
    """Turns a view's database or cache outage into a 503 (the API's own views are handled in errors.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if dependency_name(exception) is None:
            return None
        log_dependency_down(exception, request.path)
        return unavailable_response(request)


def server_error(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """handler500: an outage met in a middleware (sessions, the active organization) is a 503 too."""
    exc = sys.exc_info()[1]  # Django calls the handler inside its `except` block
    if dependency_name(exc) is not None:
        return unavailable_response(request)
    return defaults.server_error(request, *args, **kwargs)
