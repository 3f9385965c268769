"""Serving local media when there is no S3 bucket (development and single-machine installs)."""

from django.conf import settings
from django.views.static import serve


def media(request, path: str):
    # MEDIA_ROOT is read per request (not at URL import) so tests and settings changes are honoured.
    return serve(request, path, document_root=settings.MEDIA_ROOT)
