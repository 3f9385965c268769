"""Erasing an end user on request: their prompts, frames and videos go; the money rows stay, under an anonymous id.

The order matters: refuse while a job is at the provider (its result would land after the erasure), cancel the
queued ones (releasing their holds), then blank every generation, scrub partner webhook deliveries, drop stored
idempotent answers and exports, and anonymize the end user in ONE transaction. Stored files are deleted after
commit by a task; their names stay on `EndUserErasure.files_pending` until each is gone, and the upkeep pass
re-runs what a dead worker or a storage outage left behind (`erasures_sweep`).
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from accounts import erasure as accounts_erasure
from accounts import selectors as accounts_selectors
from accounts import services as accounts_services
from accounts.models import ApiKey, EndUser, EndUserErasure, IdempotencyRecord, User
from billing import services as billing
from generations.models import IN_FLIGHT, EndUserExport, Generation, GenerationEvent, Status
from generations.services.creation import generation_cancel
from generations.signals import end_user_erased
from seedance_saas.errors import Conflict, NotFound
from webhooks import erasure as webhooks_erasure

logger = logging.getLogger(__name__)

# A pending erasure this old has had its task; the sweeper runs it again (a dead worker, storage down).
SWEEP_AFTER = timedelta(minutes=1)
SWEEP_BATCH = 50
FILE_FIELDS = ("image", "end_image", "video")
ERASED_REASON = "details erased with the end user"


class EndUserBusy(Conflict):
    code = "end_user_busy"
    default_message = (
        "A generation of this end user is at the provider right now; it cannot be stopped there. Retry the "
        "erasure once it has finished (typically within 5 minutes)."
    )


def _in_flight(end_user: EndUser) -> bool:
    return Generation.objects.filter(end_user=end_user, status__in=IN_FLIGHT).exists()


def end_user_erase(
    *,
    end_user: EndUser,
    requested_by: User | None = None,
    api_key: ApiKey | None = None,
    origin: str = EndUserErasure.Origin.API,
) -> EndUserErasure:
    """Erase one end user (see the module's docstring); raises EndUserBusy while a job is at the provider."""
    if end_user.erased_at is not None:
        raise NotFound("Unknown end user.")
    if _in_flight(end_user):
        raise EndUserBusy()
    for generation in Generation.objects.filter(end_user=end_user, status=Status.QUEUED):
        try:
            generation_cancel(generation=generation, reason="canceled: the end user was erased")
        except Conflict as exc:  # the dispatcher took it meanwhile: it is at the provider now
            raise EndUserBusy() from exc
    with transaction.atomic():
        # The billing account's row lock serialises every spend decision of the organization (spend_authorize):
        # a generation being created for this end user either commits before us (and we answer busy below) or
        # reads them blocked after us and is refused. Taken first, as creation does, so the two cannot deadlock.
        billing.billing_account_get(organization=end_user.organization, lock=True)
        end_user = EndUser.objects.select_for_update().select_related("organization").get(pk=end_user.pk)
        if end_user.erased_at is not None:
            raise NotFound("Unknown end user.")
        # A generation created or claimed since the checks above: nothing is changed, the caller retries.
        if Generation.objects.filter(end_user=end_user, status__in=(Status.QUEUED, *IN_FLIGHT)).exists():
            raise EndUserBusy()
        generations = Generation.objects.filter(end_user=end_user)
        rows = list(generations.values_list("pk", *FILE_FIELDS))
        generation_ids = [row[0] for row in rows]
        files = [name for row in rows for name in row[1:] if name]
        generations.update(
            prompt="",
            image="",
            end_image="",
            video="",
            image_url="",
            end_image_url="",
            provider_output_url="",
            error_message="",
            updated_at=timezone.now(),
        )
        # A failure's reason quotes the provider's message, which may quote the prompt.
        GenerationEvent.objects.filter(generation_id__in=generation_ids, to_status=Status.FAILED).update(
            reason=ERASED_REASON
        )
        organization = end_user.organization
        webhooks_erasure.deliveries_scrub(organization=organization, object_ids=[str(pk) for pk in generation_ids])
        _idempotency_records_delete(end_user=end_user, generation_ids=generation_ids)
        exports = EndUserExport.objects.filter(end_user=end_user)
        files += [name for name in exports.values_list("file_name", flat=True) if name]
        exports.delete()
        erasure = accounts_erasure.end_user_anonymize(
            end_user=end_user,
            files=files,
            generations_erased=len(generation_ids),
            requested_by=requested_by,
            api_key=api_key,
            origin=origin,
            refuse=end_user.external_id != accounts_services.DEFAULT_EXTERNAL_ID,
        )
        extra_files = []
        for _, answer in end_user_erased.send(
            sender=EndUser, organization=organization, end_user=end_user, generation_ids=generation_ids
        ):
            extra_files += list(answer or [])
        if extra_files:
            erasure.files_pending = [*erasure.files_pending, *extra_files]
            erasure.completed_at = None
            erasure.save(update_fields=["files_pending", "completed_at"])
        erasure_id = erasure.pk
        transaction.on_commit(lambda: _enqueue_files_delete(erasure_id), robust=True)
    logger.info(
        "end_user_erased",
        extra={"organization_id": organization.pk, "erasure_id": erasure_id, "generations": len(generation_ids)},
    )
    return erasure


def _idempotency_records_delete(*, end_user: EndUser, generation_ids: list) -> int:
    """A stored answer replays a generation (its prompt, its end user's id): the ones naming them go.

    Records live >= 24 h and only POSTs with a key have one, so reading one organization's in Python is cheap
    and is the same on SQLite and PostgreSQL (no JSON text search needed)."""
    needles = {str(pk) for pk in generation_ids}
    external_id = json.dumps(end_user.external_id)  # as it appears inside a JSON document, quotes included
    doomed = []
    records = IdempotencyRecord.objects.filter(organization_id=end_user.organization_id).exclude(response_body=None)
    for pk, body in records.values_list("pk", "response_body").iterator():
        text = json.dumps(body)
        if external_id in text or any(needle in text for needle in needles):
            doomed.append(pk)
    IdempotencyRecord.objects.filter(pk__in=doomed).delete()
    return len(doomed)


def _enqueue_files_delete(erasure_id: int) -> None:
    async_task("generations.tasks.erasure_files_delete", erasure_id, task_name="erasure_files_delete")


def erasure_files_delete(*, erasure_id: int) -> int:
    """Delete the erasure's pending files from storage; the ones that fail stay pending. Returns how many went.

    No transaction is held across the storage calls (S3 is HTTP); the row is updated under its lock after."""
    pending = list(EndUserErasure.objects.filter(pk=erasure_id).values_list("files_pending", flat=True).first() or [])
    deleted = []
    for name in pending:
        try:
            default_storage.delete(name)  # deleting a file that is already gone is not an error
        except Exception:  # noqa: BLE001 -- storage down: the file stays pending and the sweeper retries
            logger.warning("erasure %s: could not delete a stored file; will retry", erasure_id, exc_info=True)
            continue
        deleted.append(name)
    with transaction.atomic():
        erasure = EndUserErasure.objects.select_for_update().filter(pk=erasure_id).first()
        if erasure is None:
            return 0
        gone = set(deleted)
        erasure.files_pending = [name for name in erasure.files_pending if name not in gone]
        erasure.files_deleted += len(gone)
        if not erasure.files_pending and erasure.completed_at is None:
            erasure.completed_at = timezone.now()
        erasure.save(update_fields=["files_pending", "files_deleted", "completed_at"])
    return len(deleted)


def erasures_sweep(*, now=None) -> int:
    """Upkeep: run again every erasure whose files are still pending a minute after it was made."""
    cutoff = (now or timezone.now()) - SWEEP_AFTER
    stale = EndUserErasure.objects.filter(completed_at=None, created_at__lt=cutoff).order_by("created_at")
    return sum(erasure_files_delete(erasure_id=pk) for pk in stale.values_list("pk", flat=True)[:SWEEP_BATCH])


def user_account_delete(*, user: User) -> int:
    """A browser user deletes their account: their end user is erased in every organization they belong to, then
    the user row goes. Refused (nothing changed) when they are an organization's only owner with other members,
    or while one of their videos is at the provider. Returns how many end users were erased."""
    accounts_erasure.user_delete_check(user=user)
    external_id = accounts_services.BROWSER_EXTERNAL_ID.format(user_id=user.pk)
    end_users = accounts_selectors.end_users_of_user(user=user, external_id=external_id)
    busy = [end_user.organization.name for end_user in end_users if _in_flight(end_user)]
    if busy:
        raise EndUserBusy(
            f"One of your videos in {', '.join(busy)} is being made right now and cannot be stopped at the "
            "provider. Try again once it has finished (typically within 5 minutes)."
        )
    for end_user in end_users:
        end_user_erase(end_user=end_user, requested_by=user, origin=EndUserErasure.Origin.ACCOUNT_DELETED)
    accounts_erasure.user_delete(user=user)
    return len(end_users)
