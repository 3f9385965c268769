"""Everything held about one end user, as JSON: at once when small, else built by a task into media storage.

The document: the end user row, each generation (inputs, outputs' URLs as fresh signed links to our copies or
the caller's own URL, status, error, cost) and their ledger rows (usage and refunds). A large one is written to
`exports/end-users/<organization>/<random>.json`, a name no media link can reach (only generations' files are
served), read back through the API by the key that asked, and deleted after END_USER_EXPORT_TTL_S.
"""

from __future__ import annotations

import json
import logging
import secrets
import tempfile
from collections.abc import Callable, Iterator
from datetime import timedelta

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from accounts.models import ApiKey, EndUser, User
from billing import selectors as billing_selectors
from generations import media_links, selectors
from generations.media_links import Grant, MediaLink
from generations.models import EndUserExport, ExportStatus
from generations.representation import generation_payload

logger = logging.getLogger(__name__)

# A ready or building export asked for again within this window is answered from the same file.
REUSE_WITHIN = timedelta(hours=1)
# A build still "building" after this long died with its worker: the next request starts another.
BUILD_STALE_AFTER = timedelta(minutes=15)
RETRY_AFTER_S = 5
CHUNK = 200


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _money(value) -> str | None:
    return None if value is None else f"{value:.4f}"


def _end_user_part(end_user: EndUser) -> dict:
    return {
        "end_user_id": end_user.external_id,
        "monthly_spend_limit": _money(end_user.monthly_spend_limit),
        "blocked": end_user.blocked,
        "created_at": _iso(end_user.created_at),
    }


def _generations(end_user: EndUser) -> Iterator:
    generations = selectors.generation_list(organization=end_user.organization, end_user_id=end_user.external_id)
    return generations.select_related("end_user").iterator(chunk_size=CHUNK)


def _usage_rows(end_user: EndUser) -> Iterator[dict]:
    for record in billing_selectors.usage_records_of_end_user(organization=end_user.organization, end_user=end_user):
        yield {
            "id": str(record.pk),
            "kind": record.kind,
            "generation_id": str(record.source_id or (record.adjusts.source_id if record.adjusts else "")) or None,
            "resolution": record.resolution,
            "seconds": record.seconds,
            "unit_price": _money(record.unit_price),
            "amount": _money(record.amount),
            "currency": record.currency,
            "reason": record.reason,
            "completed_at": _iso(record.completed_at),
        }


def _generation_part(generation, link_for: Callable[[str], MediaLink]) -> dict:
    payload = generation_payload(generation, link_for=link_for)
    payload["provider_output_url"] = generation.provider_output_url or None
    return payload


def generation_count(*, end_user: EndUser) -> int:
    return selectors.generation_list(organization=end_user.organization, end_user_id=end_user.external_id).count()


def end_user_export_inline(*, end_user: EndUser, api_key: ApiKey) -> dict:
    """The whole document, for an end user with at most END_USER_EXPORT_INLINE_MAX generations."""
    generations = [
        _generation_part(g, lambda name: media_links.api_link(name=name, api_key=api_key))
        for g in _generations(end_user)
    ]
    return {
        "object": "end_user_export",
        "exported_at": _iso(timezone.now()),
        "end_user": _end_user_part(end_user),
        "generations_count": len(generations),
        "generations": generations,
        "usage": list(_usage_rows(end_user)),
    }


def end_user_export_request(*, end_user: EndUser, api_key: ApiKey | None = None, user: User | None = None):
    """The export to answer with: a recent ready or building one the same caller asked for, else a new one whose
    build is enqueued after commit."""
    now = timezone.now()
    recent = EndUserExport.objects.filter(
        organization_id=end_user.organization_id,
        end_user=end_user,
        requested_by_api_key=api_key,
        requested_by=user,
    ).filter(
        Q(status=ExportStatus.READY, created_at__gte=now - REUSE_WITHIN, expires_at__gt=now)
        | Q(status=ExportStatus.BUILDING, created_at__gte=now - BUILD_STALE_AFTER)
    )
    existing = recent.order_by("-created_at").first()
    if existing is not None:
        return existing
    with transaction.atomic():
        export = EndUserExport.objects.create(
            organization_id=end_user.organization_id,
            end_user=end_user,
            requested_by_api_key=api_key,
            requested_by=user,
            expires_at=now + timedelta(seconds=settings.END_USER_EXPORT_TTL_S),
        )
        export_id = str(export.pk)
        transaction.on_commit(
            lambda: async_task("generations.tasks.end_user_export_build", export_id, task_name="end_user_export"),
            robust=True,
        )
    return export


def _write_document(out, export: EndUserExport, link_for: Callable[[str], MediaLink]) -> int:
    """Streams the document into `out` a generation at a time (flat memory whatever their number)."""
    end_user = export.end_user

    def dump(value) -> str:
        return json.dumps(value, cls=DjangoJSONEncoder)

    out.write(f'{{"object": "end_user_export", "exported_at": {dump(_iso(timezone.now()))}, ')
    out.write(f'"end_user": {dump(_end_user_part(end_user))}, "generations": [')
    count = 0
    for generation in _generations(end_user):
        out.write((", " if count else "") + dump(_generation_part(generation, link_for)))
        count += 1
    out.write('], "usage": [')
    for index, row in enumerate(_usage_rows(end_user)):
        out.write((", " if index else "") + dump(row))
    out.write(f'], "generations_count": {count}}}')
    return count


def end_user_export_build(*, export_id: str) -> EndUserExport | None:
    """The task: write the document to a temporary file, store it, mark the export ready (or failed)."""
    export = (
        EndUserExport.objects.select_related("end_user__organization", "requested_by_api_key")
        .filter(pk=export_id, status=ExportStatus.BUILDING)
        .first()
    )
    if export is None:
        return None
    # Links in a stored export must work as long as the file exists; they stay bound to the key that asked
    # (revoking it stops them at once) or, for an operator's export, to nobody outside the organization.
    ttl_s = settings.END_USER_EXPORT_TTL_S + 3600
    api_key = export.requested_by_api_key
    grant = Grant.api_key(api_key) if api_key is not None else Grant.webhook()

    def link_for(name: str) -> MediaLink:
        return media_links.media_link(name=name, organization_id=export.organization_id, grant=grant, ttl_s=ttl_s)

    name = f"exports/end-users/{export.organization_id}/{secrets.token_hex(16)}.json"
    try:
        with tempfile.TemporaryFile(mode="w+b") as raw:
            text = _TextSink(raw)
            count = _write_document(text, export, link_for)
            raw.seek(0)
            stored = default_storage.save(name, File(raw, name=name.rsplit("/", 1)[-1]))
    except Exception as exc:  # noqa: BLE001 -- any failure is reported on the export; the next GET retries
        logger.exception("end-user export %s failed", export_id)
        EndUserExport.objects.filter(pk=export.pk).update(status=ExportStatus.FAILED, error=type(exc).__name__)
        return None
    updated = EndUserExport.objects.filter(pk=export.pk, status=ExportStatus.BUILDING).update(
        status=ExportStatus.READY, file_name=stored, generations_count=count, ready_at=timezone.now()
    )
    if not updated:  # erased (or expired) while building: the file must not outlive its row
        default_storage.delete(stored)
        return None
    export.refresh_from_db()
    return export


class _TextSink:
    """Text in, UTF-8 bytes out, without holding the document in memory."""

    def __init__(self, raw):
        self.raw = raw

    def write(self, text: str) -> None:
        self.raw.write(text.encode())


def end_user_export_open(*, export: EndUserExport):
    """The stored file, or None when it cannot be read (the export is marked failed, so the next request
    builds it again)."""
    try:
        return default_storage.open(export.file_name, "rb")
    except OSError:
        logger.warning("export %s: its file cannot be read; building it again", export.pk, exc_info=True)
        EndUserExport.objects.filter(pk=export.pk).update(status=ExportStatus.FAILED, error="file unreadable")
        return None


def end_user_exports_expire(*, now=None) -> int:
    """Upkeep: delete expired exports (their file first; a file that fails to go keeps its row for next time)."""
    now = now or timezone.now()
    expired = EndUserExport.objects.filter(expires_at__lt=now).order_by("expires_at")[:100]
    deleted = 0
    for export in expired:
        if export.file_name:
            try:
                default_storage.delete(export.file_name)
            except Exception:  # noqa: BLE001 -- storage down: retried on the next pass
                logger.warning("export %s: could not delete its file; will retry", export.pk, exc_info=True)
                continue
        EndUserExport.objects.filter(pk=export.pk).delete()
        deleted += 1
    return deleted
