"""Typed errors that cross a boundary, and the one JSON shape the API answers them in."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from seedance_saas import dependencies

logger = logging.getLogger(__name__)


class ServiceError(Exception):
    """A failure a caller can act on: a stable `code`, a human `message`, an HTTP status."""

    code = "error"
    status_code = 400
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None, *, code: str | None = None, fields: dict | None = None):
        self.message = message or self.default_message
        if code:
            self.code = code
        self.fields = fields
        super().__init__(self.message)

    def as_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return body


class InvalidInput(ServiceError):
    code = "invalid_input"
    default_message = "Some fields are not valid."


class NotFound(ServiceError):
    code = "not_found"
    status_code = 404
    default_message = "Not found."


class Conflict(ServiceError):
    code = "conflict"
    status_code = 409


class PaymentRequired(ServiceError):
    code = "payment_required"
    status_code = 402
    default_message = "Billing does not allow this request; add a payment method on the billing page."


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def _flatten_detail(detail) -> str:
    if isinstance(detail, list):
        return " ".join(_flatten_detail(item) for item in detail)
    if isinstance(detail, dict):
        return " ".join(f"{key}: {_flatten_detail(value)}" for key, value in detail.items())
    return str(detail)


def _messages(value) -> list[str]:
    if isinstance(value, dict):
        return [f"{key}: {_flatten_detail(item)}" for key, item in value.items()]
    if isinstance(value, list):
        return [_flatten_detail(item) for item in value]
    return [str(value)]


def _as_field_errors(detail) -> dict:
    if isinstance(detail, dict):
        return {str(key): _messages(value) for key, value in detail.items()}
    return {"non_field_errors": _messages(detail)}


# DRF's default codes, renamed where a partner reads them better.
_CODES = {
    "not_authenticated": "unauthenticated",
    "authentication_failed": "unauthenticated",
    "parse_error": "malformed_request",
}


def api_exception_handler(exc, context):
    """DRF exception handler: every error answers {"error": {"code", "message", "fields"?}}."""
    if dependencies.dependency_name(exc) is not None:
        view = context.get("view").__class__.__name__
        dependencies.log_dependency_down(exc, view)
        return Response(dependencies.error_json(), status=503, headers={"Retry-After": dependencies.retry_after()})
    if isinstance(exc, ServiceError):
        headers = {"Retry-After": "1"} if exc.code == "idempotency_in_progress" else None
        return Response({"error": exc.as_dict()}, status=exc.status_code, headers=headers)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("No such object, or it belongs to another organization.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, exceptions.NotAuthenticated):
        exc = exceptions.NotAuthenticated("Send an API key: 'Authorization: Bearer <key>'.")
    elif isinstance(exc, RequestDataTooBig):
        return Response(error_body("request_too_large", "The request body is too large."), status=413)
    elif isinstance(exc, SuspiciousOperation):
        return Response(error_body("bad_request", "The request could not be read."), status=400)
    response = exception_handler(exc, context)
    if response is None:
        # A bug, not the caller's fault: log it, and still answer in the one shape.
        logger.exception("unhandled error in %s", context.get("view").__class__.__name__, exc_info=exc)
        return Response(
            error_body("internal_error", "Something went wrong on our side; it has been logged. Try again later."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError):
        fields = _as_field_errors(exc.detail)
        response.data = error_body("invalid_input", "Some fields are not valid: " + _flatten_detail(exc.detail), fields)
        return response
    code = getattr(exc, "default_code", "error")
    code = _CODES.get(code, code)
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        response.status_code = status.HTTP_401_UNAUTHORIZED
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="api"')
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        response.headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
    response.data = error_body(code, _flatten_detail(getattr(exc, "detail", str(exc))))
    return response


@csrf_exempt
def api_not_found(request, *args, **kwargs) -> JsonResponse:
    """Unknown paths under /api/ answer JSON 404 for every method (no CSRF 403, no HTML page)."""
    return JsonResponse(
        error_body("not_found", f"There is no API endpoint at {request.path}. See /api/docs/."), status=404
    )
