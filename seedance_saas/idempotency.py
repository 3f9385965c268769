"""`Idempotency-Key` for POST endpoints: the first successful answer is replayed for repeats of the same request."""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from accounts.models import IdempotencyRecord
from seedance_saas.errors import Conflict, InvalidInput

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# A request still "in progress" after this long died with its process; a repeat may take the key over.
STALE_AFTER = timedelta(minutes=5)


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was already used with a different request; use a new key."


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"
    default_message = "A request with this Idempotency-Key is still being processed; retry in a moment."


def _file_digest(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def request_fingerprint(request) -> str:
    """SHA-256 of method, path and the parsed body (files by content), so multipart boundaries do not matter."""
    data = request.data
    # A QueryDict (form fields) keeps every value of a repeated field.
    items = {key: [str(v) for v in values] for key, values in data.lists()} if hasattr(data, "lists") else data
    files = {name: [_file_digest(f) for f in request.FILES.getlist(name)] for name in request.FILES}
    canonical = json.dumps(
        {"method": request.method, "path": request.path, "data": items, "files": files},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _record_claim(*, organization, key: str, fingerprint: str) -> tuple[IdempotencyRecord, bool]:
    """(record, True) when this request owns the key now; (the first request's record, False) otherwise."""
    for _ in range(2):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    organization=organization, key=key, request_fingerprint=fingerprint
                ), True
        except IntegrityError:
            record = IdempotencyRecord.objects.filter(organization=organization, key=key).first()
            if record is None:  # purged in between
                continue
            stale = record.response_status is None and record.created_at < timezone.now() - STALE_AFTER
            if stale and IdempotencyRecord.objects.filter(pk=record.pk, response_status=None).delete()[0]:
                continue
            return record, False
    raise IdempotencyInProgress()


def idempotent(handler):
    """Decorates an API view's `post`: honours `Idempotency-Key`, per organization.

    The same key with the same request replays the first answer (status and body, with
    `Idempotent-Replayed: true`); with another request it answers 409 `idempotency_key_reused`;
    while the first is still running, 409 `idempotency_in_progress`. Only a successful (2xx)
    answer is kept: an error releases the key, so the caller can fix the request and retry.
    """

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        # As the OpenAPI states it (seedance_saas.api_docs): the header as sent, 1-255 characters, not only spaces.
        if not key.strip() or len(key) > MAX_KEY_LENGTH:
            message = f"{HEADER} must be 1-{MAX_KEY_LENGTH} characters."
            raise InvalidInput(message, fields={HEADER: [message]})
        key = key.strip()
        fingerprint = request_fingerprint(request)
        record, owned = _record_claim(organization=view.organization, key=key, fingerprint=fingerprint)
        if not owned:
            return _replay(record, fingerprint)
        # Not one transaction around the handler: services write files to (remote) storage outside
        # theirs. A crash between the handler's commit and this save leaves the key "in progress"
        # until STALE_AFTER; that window is a few milliseconds.
        try:
            response = handler(view, request, *args, **kwargs)
        except BaseException:
            record.delete()
            raise
        if not 200 <= response.status_code < 300:
            record.delete()
            return response
        record.response_status = response.status_code
        record.response_body = json.loads(JSONRenderer().render(response.data) or b"null")
        record.save(update_fields=["response_status", "response_body"])
        return response

    return wrapper


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    if record.response_status is None:
        raise IdempotencyInProgress()
    return Response(record.response_body, status=record.response_status, headers={"Idempotent-Replayed": "true"})


def idempotency_records_purge() -> int:
    """Deletes records older than IDEMPOTENCY_TTL_HOURS (a schedule runs this hourly)."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
