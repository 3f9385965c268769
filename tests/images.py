"""Image files for upload tests: real ones from Pillow, and hand-built PNGs that lie about themselves."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 36), color=(10, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int, *, pixel_data: bytes | None = b"", text: bytes | None = None) -> bytes:
    """An RGB PNG whose header claims width x height; `pixel_data` (raw scanlines) is all it carries.

    `pixel_data=None` leaves out the IDAT chunk altogether; `text` adds a tEXt chunk (any bytes).
    """
    chunks = [_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))]
    if text is not None:
        chunks.append(_chunk(b"tEXt", b"Comment\0" + text))
    if pixel_data is not None:
        chunks.append(_chunk(b"IDAT", zlib.compress(pixel_data)))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks) + _chunk(b"IEND", b"")


def png_with_text(text: bytes, size: tuple[int, int] = (64, 36)) -> bytes:
    """A complete, valid PNG that also carries `text` in a tEXt chunk."""
    width, height = size
    scanlines = b"".join(b"\0" + b"\x20\x60\xa0" * width for _ in range(height))
    return png_claiming(width, height, pixel_data=scanlines, text=text)
