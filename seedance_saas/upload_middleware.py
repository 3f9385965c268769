"""Refuses oversized request bodies with 413 before they are read: JSON under /api/, a page elsewhere."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from seedance_saas.errors import error_body
from seedance_saas.uploads import UploadTooLarge, body_limit_message, limit_message

API_PREFIX = "/api/"


def too_large_response(request: HttpRequest, message: str | None = None) -> HttpResponse:
    """413 in the API's JSON shape under /api/, a page a person can read everywhere else."""
    message = message or limit_message()
    if request.path.startswith(API_PREFIX):
        response = JsonResponse(error_body("request_too_large", message), status=413)
    else:
        page = render_to_string("413.html", {"message": message}, request=request)
        response = HttpResponse(page, status=413)
    # No "Connection: close" here: WSGI forbids hop-by-hop headers from the application (runserver asserts).
    return response


def _is_multipart(request: HttpRequest) -> bool:
    return request.META.get("CONTENT_TYPE", "").lower().startswith("multipart/")


def _declared_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


class RequestSizeLimitMiddleware:
    """Refuses a body by its Content-Length before reading a byte, and turns a mid-stream cut-off into a 413.

    Multipart bodies may be up to UPLOAD_MAX_REQUEST_BYTES (two frames); any other body (JSON, forms) up to
    DATA_UPLOAD_MAX_MEMORY_SIZE, because those are read into memory whole.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = _declared_length(request)
        if declared is not None:
            if _is_multipart(request):
                if declared > settings.UPLOAD_MAX_REQUEST_BYTES:
                    return too_large_response(request)
            elif settings.DATA_UPLOAD_MAX_MEMORY_SIZE is not None and declared > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
                return too_large_response(request, body_limit_message())
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        # CsrfViewMiddleware reads request.POST before the view runs, and an error there becomes a plain 400;
        # parsing here first lets an oversized file answer 413. Views exempt from CSRF (the API) parse for
        # themselves; process_exception and the API's parser cover them.
        if request.method == "POST" and _is_multipart(request) and not getattr(view_func, "csrf_exempt", False):
            try:
                request.POST  # noqa: B018 - parses the body (and the files) now
            except UploadTooLarge:
                return too_large_response(request)
        return None

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, UploadTooLarge):
            return too_large_response(request)
        return None
