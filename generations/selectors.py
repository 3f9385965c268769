"""Every read of generations, always through one organization."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Count, Min, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import Organization
from generations import media_ownership
from generations.models import (
    IN_FLIGHT,
    TERMINAL,
    Generation,
    GenerationEvent,
    ProviderCall,
    ProviderKey,
    Status,
)
from seedance_saas.dependencies import DEPENDENCY_ERRORS


def generation_list(
    *,
    organization: Organization,
    status: str | None = None,
    end_user_id: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    kind: str | None = None,
    only: Sequence[str] | None = None,
) -> QuerySet[Generation]:
    """Newest first; `end_user_id` is the partner's own id (EndUser.external_id); `kind` is single or variations;
    `only`: the columns to load."""
    generations = Generation.objects.filter(organization=organization).select_related("end_user")
    if only:
        generations = generations.only(*only)
    if kind == "single":
        generations = generations.filter(variation_group__isnull=True)
    elif kind == "variations":
        generations = generations.filter(variation_group__isnull=False)
    if status:
        generations = generations.filter(status=status)
    if end_user_id:
        generations = generations.filter(end_user__external_id=end_user_id)
    if created_after:
        generations = generations.filter(created_at__gte=created_after)
    if created_before:
        generations = generations.filter(created_at__lt=created_before)
    return generations.order_by("-created_at", "-pk")


def generation_get(
    *, organization: Organization, generation_id: uuid.UUID | str, only: Sequence[str] | None = None
) -> Generation:
    """The organization's generation, or 404 (another tenant's id and a malformed id alike).

    `only`: the columns to load, for a read that only represents it (one query, no organization join).
    """
    generations = Generation.objects.select_related("end_user", "organization")
    if only:
        generations = Generation.objects.select_related("end_user").only(*only)
    try:
        return generations.get(organization=organization, pk=generation_id)
    except (Generation.DoesNotExist, ValidationError, ValueError, TypeError) as missing:
        raise Http404("No such generation.") from missing


def generation_events(*, organization: Organization, generation: Generation) -> QuerySet[GenerationEvent]:
    return GenerationEvent.objects.filter(organization=organization, generation=generation).order_by("created_at", "pk")


def operator_overview(*, now: datetime | None = None) -> dict:
    """Across tenants, for operators: the queue, failures and the provider's health over the last hour."""
    now = now or timezone.now()
    hour_ago = now - timedelta(hours=1)
    counts = Generation.objects.aggregate(
        queued=Count("pk", filter=Q(status=Status.QUEUED)),
        in_flight=Count("pk", filter=Q(status__in=IN_FLIGHT)),
        failed_last_hour=Count("pk", filter=Q(status=Status.FAILED, completed_at__gte=hour_ago)),
        succeeded_last_hour=Count("pk", filter=Q(status=Status.SUCCEEDED, completed_at__gte=hour_ago)),
    )
    calls = ProviderCall.objects.filter(started_at__gte=hour_ago).aggregate(
        creates=Count("pk", filter=Q(kind=ProviderCall.Kind.CREATE)),
        rate_limited=Count("pk", filter=Q(status_code=429)),
        server_errors=Count("pk", filter=Q(status_code__gte=500)),
        auth_failures=Count("pk", filter=Q(status_code=401)),
        timeouts=Count("pk", filter=Q(error_code__in=("provider_timeout", "provider_network"))),
    )
    return {
        **counts,
        "provider_calls": calls,
        "key_states": list(ProviderKey.objects.order_by("organization_id", "pk")),
    }


def _holds_media(name: str) -> Q:
    return Q(image=name) | Q(end_image=name) | Q(video=name) | Q(poster=name)


def media_belongs_to(*, organization_id: int, name: str) -> bool:
    """True when `name` is a frame or the video of one of the organization's generations (or of an app built on
    them that registered in generations.media_ownership)."""
    return Generation.objects.filter(_holds_media(name), organization_id=organization_id).exists() or (
        media_ownership.owned_elsewhere(organization_id=organization_id, name=name)
    )


def media_is_pending_input(*, organization_id: int, generation_id: str, name: str) -> bool:
    """True while the generation is not finished and `name` is one of its input frames (what the provider fetches)."""
    return (
        Generation.objects.filter(pk=generation_id, organization_id=organization_id)
        .exclude(status__in=TERMINAL)
        .filter(Q(image=name) | Q(end_image=name))
        .exists()
    )


# --- Operations (readiness and metrics): across tenants, never shown to one ---------------


def queue_depth_and_oldest(*, now: datetime | None = None) -> tuple[int, float | None]:
    """Queued generations and the age (s) of the oldest one, None when the queue is empty."""
    now = now or timezone.now()
    figures = Generation.objects.filter(status=Status.QUEUED).aggregate(depth=Count("pk"), oldest=Min("created_at"))
    oldest = figures["oldest"]
    return figures["depth"], (now - oldest).total_seconds() if oldest else None


def provider_key_pause(*, key: ProviderKey, now: datetime | None = None) -> str:
    """Why dispatch is stopped on this provider key ('' when it is not): a 401 stop or a 429 pause."""
    now = now or timezone.now()
    if key.stopped_at:
        refused_at = f"{key.stopped_at:%Y-%m-%d %H:%M:%S} UTC"
        return f"key {key.label}: the provider refused the key (401) at {refused_at}; resume it in the admin"
    if key.paused_until and key.paused_until > now:
        return f"key {key.label} rate-limited by the provider (429) until {key.paused_until:%H:%M:%S} UTC"
    return ""


def shared_keys_pause(*, now: datetime | None = None) -> str:
    """Why no shared key can take jobs ('' when one can): readiness fails on it; an own key's trouble does not."""
    now = now or timezone.now()
    shared = list(ProviderKey.objects.filter(organization__isnull=True, enabled=True))
    reasons = [provider_key_pause(key=key, now=now) for key in shared]
    if shared and all(reasons):
        return "; ".join(reasons)
    return ""


def generation_active_count(*, organization: Organization) -> int:
    """The organization's generations not yet finished: queued, being submitted or at the provider."""
    return Generation.objects.filter(
        organization=organization, status__in=(Status.QUEUED, Status.SUBMITTING, Status.PROCESSING)
    ).count()


ACTIVE_COUNT_CACHE_KEY = "generations:active-count:{organization_id}"


def generation_active_count_forget(*, organization_id: int) -> None:
    """A generation was created or ended: the next rate-limit fields count again."""
    with contextlib.suppress(*DEPENDENCY_ERRORS):
        cache.delete(ACTIVE_COUNT_CACHE_KEY.format(organization_id=organization_id))


def generation_concurrency(organization: Organization) -> tuple[int, int]:
    """(cap, in use) for the rate-limit fields: the provider key's in-flight cap against this organization's
    unfinished generations. No organization is refused over it: generations past it wait in the queue."""
    cache_key = ACTIVE_COUNT_CACHE_KEY.format(organization_id=organization.pk)
    try:
        active = cache.get(cache_key)
    except DEPENDENCY_ERRORS:
        active = None
    if active is None:
        active = generation_active_count(organization=organization)
        # A hint on every API answer: a few seconds stale is fine, a query on every read is not.
        with contextlib.suppress(*DEPENDENCY_ERRORS):
            cache.set(cache_key, active, timeout=settings.API_CONCURRENCY_COUNT_CACHE_S)
    return settings.EACHLABS_MAX_IN_FLIGHT, active
