"""Masks secrets that travel in URL paths (the provider webhook's /hooks/eachlabs/<secret>/) before a line is logged."""

from __future__ import annotations

import logging
import re

# The secret is the path segment after /hooks/eachlabs/ (generations/urls.py); anything up to the next /, ?, space
# or quote, so a request line, a bare path and an absolute URL are all masked.
_EACHLABS_HOOK_SECRET = re.compile(r"(/hooks/eachlabs/)[^/?#\s\"']+")
MASK = "***"


def mask_url_secrets(text: str) -> str:
    return _EACHLABS_HOOK_SECRET.sub(rf"\g<1>{MASK}", text)


class MaskUrlSecretsFilter(logging.Filter):
    """On a handler: rewrites the rendered message (django.server's request line, django.request's path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_url_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
