"""Variations: 1-4 generations of the same inputs with different seeds, grouped, priced and authorized together."""

from __future__ import annotations

import dataclasses
import secrets
import uuid

import structlog
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404

from accounts.models import ApiKey, EndUser, Organization, User
from billing import services as billing
from generations import catalog, selectors, services
from generations.catalog import GenerationInputs
from generations.models import Generation
from generations.services import creation
from seedance_saas.errors import InvalidInput, NotFound

MAX_VARIATIONS = 4
SEED_SPACE = 2**31 - 1  # seeds the provider accepts as plain integers
lifecycle_log = structlog.get_logger("generations.lifecycle")


def variation_seeds(seed: str, count: int) -> list[str]:
    """`count` distinct seeds: the caller's own first (when given), then random ones."""
    seeds = [seed] if seed else []
    while len(seeds) < count:
        candidate = str(secrets.randbelow(SEED_SPACE))
        if candidate not in seeds:
            seeds.append(candidate)
    return seeds


def _validated_count(count: int) -> int:
    if not isinstance(count, int) or not 1 <= count <= MAX_VARIATIONS:
        raise InvalidInput(
            f"Variations must be 1 to {MAX_VARIATIONS}.",
            fields={"variations": [f"Use a whole number from 1 to {MAX_VARIATIONS}."]},
        )
    return count


def generation_create_many(
    *,
    count: int,
    organization: Organization,
    end_user: EndUser,
    inputs: GenerationInputs,
    image=None,
    end_image=None,
    created_by: User | None = None,
    api_key: ApiKey | None = None,
) -> list[Generation]:
    """One generation (count 1, exactly as services.generation_create), or a group of variations that are
    authorized against the spend limits in one transaction: all are queued, or none (402 for the whole group)."""
    count = _validated_count(count)
    if count == 1:
        return [
            services.generation_create(
                organization=organization,
                end_user=end_user,
                inputs=inputs,
                image=image,
                end_image=end_image,
                created_by=created_by,
                api_key=api_key,
            )
        ]
    if end_user.organization_id != organization.pk:
        raise NotFound("Unknown end user.")
    group = uuid.uuid4()
    frames = {name: _frame(upload) for name, upload in (("image", image), ("end_image", end_image))}
    quote = billing.quote(organization=organization, resolution=inputs.resolution, duration=inputs.duration)
    generations = []
    for seed in variation_seeds(inputs.seed, count):
        generation = Generation(
            organization=organization,
            end_user=end_user,
            created_by=created_by,
            api_key=api_key,
            variation_group=group,
            webhook_secret=secrets.token_urlsafe(32),
            estimated_cost=quote.authorized_amount,
            **dataclasses.asdict(dataclasses.replace(inputs, seed=seed)),
        )
        generations.append(generation)
    try:
        # Files first, outside the transaction: storage may be remote (S3) and no HTTP runs inside one. Each
        # variation has its own copy, so any one of them can be retried or deleted alone.
        for generation in generations:
            for name, frame in frames.items():
                if frame is not None:
                    extension, data = frame
                    getattr(generation, name).save(f"frame.{extension}", ContentFile(data), save=False)
        with transaction.atomic():
            for number, generation in enumerate(generations, start=1):
                # Each hold sees the ones before it (same transaction, the account row locked): the last that
                # does not fit refuses the whole group and rolls every earlier hold back.
                creation.generation_enqueue(generation=generation, reason=f"created (variation {number} of {count})")
            transaction.on_commit(services.wake_dispatcher)
    except Exception:
        for generation in generations:
            creation.generation_files_delete(generation=generation)
        raise
    selectors.generation_active_count_forget(organization_id=organization.pk)
    lifecycle_log.info(
        "variations_created",
        variation_group=str(group),
        organization_id=organization.pk,
        count=count,
        origin="api" if api_key else "browser",
    )
    return generations


def _frame(upload) -> tuple[str, bytes] | None:
    if upload is None:
        return None
    extension = catalog.stored_image_extension(upload)
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    return extension, data


def variation_group_list(*, organization: Organization, group_id: uuid.UUID | str) -> QuerySet[Generation]:
    """The group's generations in the order they were made; 404 when the organization has no such group."""
    try:
        group_uuid = uuid.UUID(str(group_id))
    except ValueError:
        raise Http404("No such group.") from None
    generations = (
        Generation.objects.filter(organization=organization, variation_group=group_uuid)
        .select_related("end_user")
        .order_by("created_at", "pk")
    )
    if not generations.exists():
        raise Http404("No such group.")
    return generations


def variations_count(value) -> int:
    """The browser's `variations` value as 1-4 (anything else: 1, the form reports the error)."""
    try:
        count = int(value)
    except (TypeError, ValueError):
        return 1
    return count if 1 <= count <= MAX_VARIATIONS else 1


@dataclasses.dataclass(frozen=True)
class GroupPrice:
    count: int
    min_amount: object
    max_amount: object


def group_price(quote, count: int) -> GroupPrice | None:
    """n x the price of one, shown before the click."""
    if quote is None:
        return None
    return GroupPrice(count=count, min_amount=quote.min_amount * count, max_amount=quote.max_amount * count)
