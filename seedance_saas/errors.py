"""Typed errors that cross a boundary, and the one JSON shape the API answers them in."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


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


def _as_field_errors(detail) -> dict:
    if isinstance(detail, dict):
        return {key: [str(m) for m in (value if isinstance(value, list) else [value])] for key, value in detail.items()}
    return {"non_field_errors": [str(m) for m in (detail if isinstance(detail, list) else [detail])]}


def api_exception_handler(exc, context):
    """DRF exception handler: every error answers {"error": {"code", "message", "fields"?}}."""
    if isinstance(exc, ServiceError):
        return Response({"error": exc.as_dict()}, status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _as_field_errors(exc.detail)
        response.data = error_body("invalid_input", "Some fields are not valid: " + _flatten_detail(exc.detail), fields)
        return response
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        response.status_code = status.HTTP_401_UNAUTHORIZED
    response.data = error_body(code, _flatten_detail(getattr(exc, "detail", str(exc))))
    return response
