"""Every read of storyboards, scoped to one organization (the upkeep reads are across tenants, never shown)."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import Organization
from generations.models import Generation
from storyboards.models import SHOT_OPEN, Shot, ShotStatus, Storyboard, StoryboardStatus


def storyboard_list(*, organization: Organization) -> QuerySet[Storyboard]:
    return (
        Storyboard.objects.filter(organization=organization)
        .select_related("end_user")
        .prefetch_related("shots")
        .order_by("-created_at", "-pk")
    )


def storyboard_get(*, organization: Organization, storyboard_id: uuid.UUID | str) -> Storyboard:
    """This organization's storyboard, or 404 (another organization's too)."""
    try:
        return Storyboard.objects.select_related("organization", "end_user").get(
            organization=organization, pk=storyboard_id
        )
    except (Storyboard.DoesNotExist, ValidationError, ValueError):
        raise Http404("No such storyboard.") from None


def storyboard_shots(*, storyboard: Storyboard) -> list[Shot]:
    return list(storyboard.shots.select_related("generation").order_by("position"))


def shot_generations(*, shots: list[Shot]) -> dict[uuid.UUID, Generation]:
    """The generations the shots run as, by the id each was planned under."""
    ids = [s.planned_generation_id for s in shots]
    return {g.pk: g for g in Generation.objects.filter(pk__in=ids)}


def shot_generation(*, shot: Shot) -> Generation:
    return Generation.objects.get(pk=shot.planned_generation_id)


def shot_generation_exists(*, shot: Shot) -> bool:
    return Generation.objects.filter(pk=shot.planned_generation_id).exists()


def storyboards_running_ids() -> list[uuid.UUID]:
    return list(Storyboard.objects.filter(status=StoryboardStatus.RUNNING).values_list("pk", flat=True)[:500])


def storyboards_stitching_ids(*, updated_before) -> list[uuid.UUID]:
    return list(
        Storyboard.objects.filter(status=StoryboardStatus.STITCHING, updated_at__lt=updated_before).values_list(
            "pk", flat=True
        )[:100]
    )


def storyboard_for_generation(*, generation_id) -> uuid.UUID | None:
    return (
        Shot.objects.filter(Q(planned_generation_id=generation_id) | Q(generation_id=generation_id))
        .values_list("storyboard_id", flat=True)
        .first()
    )


def planned_ids_still_open(*, source_ids: set) -> set:
    """Hold ids of shots that have not started yet or are running: their holds are not orphans."""
    return set(
        Shot.objects.filter(planned_generation_id__in=source_ids, status__in=SHOT_OPEN).values_list(
            "planned_generation_id", flat=True
        )
    )


def media_belongs_to(*, organization_id: int, name: str) -> bool:
    return (
        Storyboard.objects.filter(organization_id=organization_id).filter(Q(film=name) | Q(poster=name)).exists()
        or Shot.objects.filter(organization_id=organization_id, image=name).exists()
    )


def storyboard_progress(*, shots: list[Shot]) -> dict[str, int]:
    counts = {status: 0 for status in ShotStatus.values}
    for shot in shots:
        counts[shot.status] += 1
    return counts
