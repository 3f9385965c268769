"""Create, cancel and retry: the writes a person or a partner asks for."""

from __future__ import annotations

import dataclasses
import secrets
import uuid

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiKey, EndUser, Organization, User
from billing import services as billing
from generations import catalog, selectors
from generations.catalog import GenerationInputs
from generations.models import IN_FLIGHT, Generation, GenerationEvent, Status
from generations.services.transitions import after_terminal, lifecycle_log, transition, wake_dispatcher
from seedance_saas.errors import Conflict, NotFound


def generation_create(
    *,
    organization: Organization,
    end_user: EndUser,
    inputs: GenerationInputs,
    image: File | None = None,
    end_image: File | None = None,
    created_by: User | None = None,
    api_key: ApiKey | None = None,
    retry_of: Generation | None = None,
    continues: Generation | None = None,
    generation_id: uuid.UUID | None = None,
) -> Generation:
    """Authorize the spend and queue the generation; the dispatcher is woken after commit.

    `generation_id` names a hold authorized beforehand under that id (a storyboard authorizes all its shots at once);
    spend_authorize is idempotent per source id, so that hold is the one used."""
    if end_user.organization_id != organization.pk:
        raise NotFound("Unknown end user.")
    generation = Generation(
        organization=organization,
        end_user=end_user,
        created_by=created_by,
        api_key=api_key,
        retry_of=retry_of,
        continues=continues,
        webhook_secret=secrets.token_urlsafe(32),
        **dataclasses.asdict(inputs),
    )
    if generation_id is not None:
        generation.pk = generation_id
    # Files are written before the transaction: storage may be remote (S3) and no HTTP runs inside one.
    # Our copy is named by the format Pillow detected, never by the uploader's file name (see _input_path).
    if image is not None:
        generation.image.save(f"frame.{catalog.stored_image_extension(image)}", image, save=False)
    if end_image is not None:
        generation.end_image.save(f"frame.{catalog.stored_image_extension(end_image)}", end_image, save=False)
    quote = billing.quote(organization=organization, resolution=inputs.resolution, duration=inputs.duration)
    generation.estimated_cost = quote.authorized_amount
    try:
        with transaction.atomic():
            generation_enqueue(generation=generation, reason=f"retry of {retry_of.pk}" if retry_of else "created")
            transaction.on_commit(wake_dispatcher)
    except Exception:
        generation_files_delete(generation=generation)
        raise
    selectors.generation_active_count_forget(organization_id=organization.pk)
    lifecycle_log.info(
        "generation_created",
        generation_id=str(generation.pk),
        organization_id=organization.pk,
        origin="api" if api_key else "browser",
        resolution=inputs.resolution,
        duration=inputs.duration,
    )
    return generation


def generation_enqueue(*, generation: Generation, reason: str) -> None:
    """In the caller's transaction: hold the spend of a new, unsaved generation, then insert it as queued with its
    event. A hold that does not fit raises and rolls back whatever the transaction did before."""
    billing.spend_authorize(
        organization=generation.organization,
        end_user=generation.end_user,
        source_id=generation.pk,
        resolution=generation.resolution,
        duration=generation.duration,
    )
    generation.save(force_insert=True)
    GenerationEvent.objects.create(
        organization=generation.organization, generation=generation, to_status=Status.QUEUED, reason=reason
    )


def generation_files_delete(*, generation: Generation) -> None:
    """The input frames stored for a generation that was never saved (its create failed)."""
    for name in (generation.image.name, generation.end_image.name):
        if name:
            default_storage.delete(name)


def generation_cancel(*, generation: Generation, reason: str = "canceled by the user") -> Generation:
    with transaction.atomic():
        if transition(
            generation, to=Status.CANCELED, reason=reason, from_=(Status.QUEUED,), completed_at=timezone.now()
        ):
            billing.spend_release(source_id=generation.pk, reason="canceled")
            transaction.on_commit(lambda: after_terminal(generation.pk), robust=True)
            return generation
    generation.refresh_from_db()
    if generation.status in IN_FLIGHT:
        raise Conflict(
            "This generation is already at the provider, which cannot stop a job once it has started. "
            "It will finish or fail on its own.",
            code="not_cancelable",
        )
    raise Conflict(f"This generation is already {generation.status}.", code="not_cancelable")


def generation_retry(
    *, generation: Generation, created_by: User | None = None, api_key: ApiKey | None = None
) -> Generation:
    """A failed or canceled generation runs again as a new generation linked to it."""
    if generation.status not in (Status.FAILED, Status.CANCELED):
        raise Conflict(
            f"Only failed or canceled generations can be retried; this one is {generation.status}.",
            code="not_retryable",
        )
    # The Generation keeps every input under the catalog's own field names.
    inputs = GenerationInputs(
        **{field.name: getattr(generation, field.name) for field in dataclasses.fields(GenerationInputs)}
    )
    return generation_create(
        organization=generation.organization,
        end_user=generation.end_user,
        inputs=inputs,
        image=_reopen(generation.image),
        end_image=_reopen(generation.end_image),
        created_by=created_by,
        api_key=api_key,
        retry_of=generation,
    )


def _reopen(field_file) -> File | None:
    if not field_file:
        return None
    return File(default_storage.open(field_file.name, "rb"), name=field_file.name.rsplit("/", 1)[-1])
