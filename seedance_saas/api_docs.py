"""Shared pieces of the partner API: the error schema and examples, and cursor pagination."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.pagination import CursorPagination


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable: branch on this.")
    message = serializers.CharField(help_text="Human-readable; may change.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors per field (only on 400 invalid_input).",
    )
    required_scope = serializers.CharField(
        required=False, help_text="The scope the call needs (only on 403 insufficient_scope)."
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


_ERRORS = {
    400: ("Bad input; `fields` names each wrong field.", "invalid_input", "Some fields are not valid: url: ..."),
    401: ("Missing, unknown or revoked API key.", "unauthenticated", "This API key is unknown or has been revoked."),
    402: ("Billing does not allow this (spend limit, standing).", "payment_required", "Add a payment method."),
    403: (
        "The API key lacks the scope this call needs; `required_scope` names it.",
        "insufficient_scope",
        "This API key lacks the scope `generations:write`, which this call needs. ...",
    ),
    404: ("No such object in your organization.", "not_found", "No such object, or it belongs to another ..."),
    406: (
        "The Accept header asks for something other than JSON.",
        "not_acceptable",
        "Could not satisfy the request Accept header.",
    ),
    409: ("Conflicts with the object's state or an idempotency key.", "conflict", "This cannot be done now."),
    413: (
        "An image over 30 MB, a multipart body over 61 MB, or another body over 2.5 MB.",
        "request_too_large",
        "The upload is too large: each image may be at most 30 MB and a whole request at most 61 MB.",
    ),
    415: ("Unsupported Content-Type.", "unsupported_media_type", 'Unsupported media type "text/plain" in request.'),
    429: ("Too many requests; wait `Retry-After` seconds.", "throttled", "Request was throttled. Expected ..."),
}


def error_responses(*statuses: int) -> dict:
    """OpenAPI responses for these error statuses (401 and 429 are added to every authenticated endpoint)."""
    responses = {}
    for status in sorted(set(statuses)):
        description, code, message = _ERRORS[status]
        example = {"error": {"code": code, "message": message}}
        if status == 400:
            example["error"]["fields"] = {"url": ["Webhook URLs must use https://."]}
        if status == 403:
            example["error"]["required_scope"] = "generations:write"
        responses[status] = OpenApiResponse(
            ErrorSerializer,
            description=description,
            examples=[OpenApiExample(code, value=example, status_codes=[str(status)], response_only=True)],
        )
    return responses


def authed_errors(*statuses: int) -> dict:
    return error_responses(401, 406, 429, *statuses)


MAX_PAGE_SIZE = 100
IDEMPOTENCY_KEY_MAX_LENGTH = 255

RATE_LIMIT_HEADERS = {
    "RateLimit-Policy": {
        "description": (
            "The caller's budgets (draft-ietf-httpapi-ratelimit-headers): writes and reads per key per minute, and "
            "the organization's unfinished generations. Absent when the limits cannot be counted."
        ),
        "schema": {"type": "string"},
        "example": '"writes";q=60;w=60, "reads";q=600;w=60, "generations";q=10;qu="concurrent-requests"',
    },
    "RateLimit": {
        "description": "What is left of each budget (`r`) and seconds until it resets (`t`).",
        "schema": {"type": "string"},
        "example": '"writes";r=57;t=12, "reads";r=600;t=12, "generations";r=8',
    },
}
RETRY_AFTER_HEADER = {
    "Retry-After": {"description": "Seconds to wait before calling again.", "schema": {"type": "integer"}}
}


class ScopedAutoSchema(AutoSchema):
    """Each operation states the API-key scope it needs (`x-required-scope`, its description and a 403), and
    every answer documents the rate-limit fields (and a 429 its `Retry-After`)."""

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return operation
        required = getattr(self.view, "required_scopes", {})
        scope = required.get(self.method)
        if scope:
            operation["x-required-scope"] = scope
            note = f"Requires an API key with the scope `{scope}` (403 `insufficient_scope` without it)."
            operation["description"] = f"{operation.get('description', '').rstrip()}\n\n{note}".lstrip()
            operation["responses"]["403"] = self._error_response(403)
        for status, response in operation["responses"].items():
            headers = response.setdefault("headers", {})
            headers.update(RATE_LIMIT_HEADERS)
            if status == "429":
                headers.update(RETRY_AFTER_HEADER)
        return operation

    def _error_response(self, status: int) -> dict:
        description, code, message = _ERRORS[status]
        example = {"error": {"code": code, "message": message, "required_scope": "generations:write"}}
        return {
            "description": description,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"},
                    "examples": {code: {"value": example, "summary": code}},
                }
            },
        }


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    # What seedance_saas.idempotency enforces: 1-255 characters, not only spaces.
    {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH, "pattern": r"\S"},
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string (<= 255 chars), e.g. a UUID. Repeating a POST with the same key and body replays the "
        "first successful answer (header `Idempotent-Replayed: true`); the same key with another body answers 409 "
        "`idempotency_key_reused`; while the first is running, 409 `idempotency_in_progress`. Kept 24 h."
    ),
)


CURSOR_PARAMETER = OpenApiParameter("cursor", str, description="From `next` or `previous`.")
PAGE_SIZE_PARAMETER = OpenApiParameter(
    "page_size",
    {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": 20},
    description=f"1-{MAX_PAGE_SIZE}, default 20.",
)
PAGE_PARAMETERS = [CURSOR_PARAMETER, PAGE_SIZE_PARAMETER]


class ApiCursorPagination(CursorPagination):
    """Newest first; stable under inserts; `?cursor=` from `next`/`previous`, `?page_size=` up to 100."""

    ordering = ("-created_at", "-pk")
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound as exc:
            raise exceptions.ValidationError(
                {"cursor": ["This cursor is not valid; use `next` or `previous`."]}
            ) from exc

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and not (raw.isdigit() and 1 <= int(raw) <= self.max_page_size):
            raise exceptions.ValidationError({"page_size": [f"Use a whole number from 1 to {self.max_page_size}."]})
        return super().get_page_size(request)


def paginated(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """The schema of one page of a cursor-paginated list of `serializer_class`."""
    name = serializer_class.__name__.removesuffix("Serializer")
    return inline_serializer(
        name=f"Paginated{name}List",
        fields={
            "next": serializers.URLField(allow_null=True, help_text="The next page, or null."),
            "previous": serializers.URLField(allow_null=True, help_text="The previous page, or null."),
            "results": serializer_class(many=True),
        },
    )


def paginate(view, queryset, serializer_class, **serializer_kwargs):
    """One page of `queryset` as a DRF Response, through ApiCursorPagination."""
    paginator = ApiCursorPagination()
    page = paginator.paginate_queryset(queryset, view.request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True, **serializer_kwargs).data)
