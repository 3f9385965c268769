"""Answering with a stored media file: allow-listed content types, no sniffing, a sandbox, byte ranges, streamed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath

from django.core.files.storage import Storage
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

# The only types we ever show inline, chosen by the extension we stored (never by a name a user gave).
INLINE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".mp4": "video/mp4",
}
DOWNLOAD_TYPE = "application/octet-stream"
# Whatever a file holds, no script runs: default-src 'none' refuses every script, and the sandbox (no allow-scripts)
# gives the document an opaque origin without our cookies or storage. Opened straight in a tab, the browser's own
# viewer document loads the file itself (img-src / media-src 'self') and styles itself inline.
MEDIA_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
# Chromium's video viewer cannot play inside a sandbox, so an MP4 (a type that never runs as a document) goes without.
VIDEO_CSP = "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'"
CHUNK_BYTES = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def media_headers(name: str) -> dict[str, str]:
    """Content type and disposition for a stored name, plus the headers every media answer carries."""
    suffix = PurePosixPath(name).suffix.lower()
    content_type = INLINE_TYPES.get(suffix)
    csp = VIDEO_CSP if content_type == "video/mp4" else MEDIA_CSP
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": csp}
    if content_type is None:
        headers["Content-Type"] = DOWNLOAD_TYPE
        headers["Content-Disposition"] = "attachment"
    else:
        headers["Content-Type"] = content_type
    return headers


def _byte_range(header: str, size: int) -> tuple[int, int] | None | bool:
    """(first, last) for one satisfiable range, None to send the whole file, False when unsatisfiable."""
    match = _RANGE.match(header.strip())
    if not match:
        return None  # several ranges or another unit: RFC 9110 lets us answer with the whole file
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            return False
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return False
    return start, end


def _chunks(handle, remaining: int) -> Iterator[bytes]:
    try:
        while remaining > 0:
            chunk = handle.read(min(CHUNK_BYTES, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


def serve_stored_file(request: HttpRequest, *, storage: Storage, name: str, cache_s: int = 0) -> HttpResponse:
    """Streams `name` from `storage`, honouring a single `Range: bytes=` request (206, or 416 when unsatisfiable)."""
    headers = media_headers(name)
    try:
        size = storage.size(name)
    except (FileNotFoundError, OSError):
        response = HttpResponse("This file no longer exists.", status=404, content_type="text/plain")
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = MEDIA_CSP
        return response
    wanted = _byte_range(request.headers.get("Range", ""), size)
    if wanted is False:
        response = HttpResponse(status=416, content_type="text/plain")
        response["Content-Range"] = f"bytes */{size}"
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = MEDIA_CSP
        return response
    first, last = wanted if wanted else (0, size - 1)
    length = max(last - first + 1, 0)
    handle = storage.open(name, "rb")
    if first:
        handle.seek(first)
    response = StreamingHttpResponse(_chunks(handle, length), status=206 if wanted else 200)
    for header, value in headers.items():
        response[header] = value
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    if wanted:
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    # The link itself expires; a browser may keep the bytes privately until then (seeking re-reads ranges).
    response["Cache-Control"] = f"private, max-age={cache_s}" if cache_s > 0 else "private, no-store"
    return response
