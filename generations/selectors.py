"""Every read of generations, always through one organization."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Count, Min, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import Organization
from generations.models import (
    IN_FLIGHT,
    TERMINAL,
    Generation,
    GenerationEvent,
    ProviderCall,
    ProviderKeyState,
    Status,
)


def generation_list(
    *,
    organization: Organization,
    status: str | None = None,
    end_user_id: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    only: Sequence[str] | None = None,
) -> QuerySet[Generation]:
    """Newest first; `end_user_id` is the partner's own id (EndUser.external_id); `only`: the columns to load."""
    generations = Generation.objects.filter(organization=organization).select_related("end_user")
    if only:
        generations = generations.only(*only)
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
    return {**counts, "provider_calls": calls, "key_states": list(ProviderKeyState.objects.all())}


def _holds_media(name: str) -> Q:
    return Q(image=name) | Q(end_image=name) | Q(video=name)


def media_belongs_to(*, organization_id: int, name: str) -> bool:
    """True when `name` is a frame or the video of one of the organization's generations."""
    return Generation.objects.filter(_holds_media(name), organization_id=organization_id).exists()


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


def provider_key_pause(*, fingerprint: str, now: datetime | None = None) -> str:
    """Why dispatch is stopped on this provider key ('' when it is not): a 401 stop or a 429 pause."""
    now = now or timezone.now()
    state = ProviderKeyState.objects.filter(key_fingerprint=fingerprint).first()
    if state is None:
        return ""
    if state.auth_failed_at:
        refused_at = f"{state.auth_failed_at:%Y-%m-%d %H:%M:%S} UTC"
        return f"the provider refused the key (401) at {refused_at}; resume dispatch in the admin"
    if state.paused_until and state.paused_until > now:
        return f"rate-limited by the provider (429) until {state.paused_until:%H:%M:%S} UTC"
    return ""
