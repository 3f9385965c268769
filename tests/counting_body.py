"""A request body that is generated as it is read (no 100 MB in memory) and counts the bytes the server consumed."""

from __future__ import annotations

BOUNDARY = "counting-body-boundary"
MULTIPART_CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


class CountingBody:
    """A `wsgi.input`: `head`, then `filler_bytes` zero bytes, then `tail`; `bytes_read` is what was taken."""

    def __init__(self, head: bytes, filler_bytes: int, tail: bytes = b""):
        self._head, self._filler_bytes, self._tail = head, filler_bytes, tail
        self.size = len(head) + filler_bytes + len(tail)
        self.bytes_read = 0

    def _slice(self, start: int, end: int) -> bytes:
        filler_start = len(self._head)
        tail_start = filler_start + self._filler_bytes
        out = [self._head[start:end]] if start < filler_start else []
        zeros = min(end, tail_start) - max(start, filler_start)
        if zeros > 0:
            out.append(b"\0" * zeros)
        if end > tail_start:
            out.append(self._tail[max(start - tail_start, 0) : end - tail_start])
        return b"".join(out)

    def read(self, size: int = -1) -> bytes:
        end = self.size if size is None or size < 0 else min(self.size, self.bytes_read + size)
        data = self._slice(self.bytes_read, end)
        self.bytes_read = end
        return data

    def readline(self, size: int = -1) -> bytes:
        end = self.size if size is None or size < 0 else min(self.size, self.bytes_read + size)
        data = self._slice(self.bytes_read, end)
        newline = data.find(b"\n")
        if newline >= 0:
            data = data[: newline + 1]
        self.bytes_read += len(data)
        return data


def multipart_upload(
    fields: dict[str, str], *, file_field: str, file_bytes: int, file_name: str = "frame.png"
) -> CountingBody:
    """A multipart/form-data body with `fields` and one file of `file_bytes` zero bytes (sent as image/png)."""
    head = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    head += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{file_name}"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    return CountingBody(head, file_bytes, f"\r\n--{BOUNDARY}--\r\n".encode())


def wsgi_environ(body: CountingBody, *, content_length: int | None, content_type: str = MULTIPART_CONTENT_TYPE):
    """Extra environ for Django's test client: the body as `wsgi.input`, with the Content-Length a client claims."""
    environ = {"wsgi.input": body, "CONTENT_TYPE": content_type}
    if content_length is None:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    else:
        environ["CONTENT_LENGTH"] = str(content_length)
    return environ
