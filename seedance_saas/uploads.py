"""Upload size limits enforced while the body streams in: the upload handler, the API's parser, the messages.

Kept free of seedance_saas.errors: DRF imports the parser while errors.py is still importing DRF.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from rest_framework import exceptions, parsers


class UploadTooLarge(RequestDataTooBig):
    """A file or the whole body passed its limit; raised while parsing, before the rest is read."""


class RequestTooLarge(exceptions.APIException):
    """The DRF form of UploadTooLarge: the API's exception handler answers it in the one JSON shape."""

    status_code = 413
    default_code = "request_too_large"


def _megabytes(size_bytes: int) -> str:
    return f"{size_bytes / 1024 / 1024:.3g} MB"


def limit_message() -> str:
    return (
        f"The upload is too large: each image may be at most {_megabytes(settings.UPLOAD_MAX_FILE_BYTES)} "
        f"and a whole request at most {_megabytes(settings.UPLOAD_MAX_REQUEST_BYTES)}."
    )


def body_limit_message() -> str:
    return f"The request body is too large: the limit is {_megabytes(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}."


class LimitedUploadHandler(FileUploadHandler):
    """First in FILE_UPLOAD_HANDLERS: counts every file's bytes and stops the upload once one passes its limit.

    The whole body is already bounded by RequestSizeLimitMiddleware (Content-Length, which is all Django reads);
    within it, nothing of a file past UPLOAD_MAX_FILE_BYTES (+ one 64 KB chunk) is read or handed on to the
    handlers after this one, which write to memory or disk.
    """

    def __init__(self, request=None):
        super().__init__(request)
        self.exceeded = False

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        # The temporary-file handler after this one writes large files there; it must exist.
        if settings.FILE_UPLOAD_TEMP_DIR:
            os.makedirs(settings.FILE_UPLOAD_TEMP_DIR, exist_ok=True)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > settings.UPLOAD_MAX_FILE_BYTES:
            self.exceeded = True
            # connection_reset: the parser closes (and so deletes) the partial files and reads no further.
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int):
        return None  # the next handlers build the file

    def upload_complete(self) -> None:
        if self.exceeded:
            raise UploadTooLarge(limit_message())


class LimitedMultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, answering an upload over the limits with 413 `request_too_large`."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except UploadTooLarge as error:
            raise RequestTooLarge(str(error)) from error
