"""Reads about provider keys: which queued generations a key may run, its load, and what owners should see."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from accounts.models import Organization
from generations.models import IN_FLIGHT, Generation, ProviderCall, ProviderKey, Status


def own_key_organization_ids() -> QuerySet:
    """Organizations whose jobs run only on their own (enabled) key, whatever that key's state."""
    return ProviderKey.objects.filter(organization__isnull=False, enabled=True).values("organization_id")


def eligible_for_key(*, key: ProviderKey, now: datetime) -> QuerySet[Generation]:
    """Queued generations that may go to `key` now: its organization's for an own key; for a shared key,
    those of organizations without an own key."""
    queued = Generation.objects.filter(status=Status.QUEUED).filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
    if key.organization_id is not None:
        return queued.filter(organization_id=key.organization_id)
    return queued.exclude(organization_id__in=own_key_organization_ids())


def dispatchable_key_ids(*, now: datetime) -> list[int]:
    """Enabled keys that are neither stopped (401) nor paused (429): own keys first, then shared ones."""
    keys = ProviderKey.objects.filter(enabled=True, stopped_at__isnull=True).filter(
        Q(paused_until__isnull=True) | Q(paused_until__lte=now)
    )
    return list(keys.order_by(F("organization_id").asc(nulls_last=True), "pk").values_list("pk", flat=True))


def key_in_flight_jobs(*, key: ProviderKey) -> QuerySet[Generation]:
    """Jobs holding one of the key's slots (a job the provider has finished holds none while we copy it)."""
    return Generation.objects.filter(provider_key=key, status__in=IN_FLIGHT, provider_completed_at__isnull=True)


def key_in_flight(*, key: ProviderKey) -> int:
    return key_in_flight_jobs(key=key).count()


def queued_for_key(*, key: ProviderKey) -> QuerySet[Generation]:
    """Every queued generation of the key's pool, due or not (the queue estimates honour `not_before`)."""
    queued = Generation.objects.filter(status=Status.QUEUED)
    if key.organization_id is not None:
        return queued.filter(organization_id=key.organization_id)
    return queued.exclude(organization_id__in=own_key_organization_ids())


def key_creates_last_minute(*, key: ProviderKey, now: datetime) -> int:
    window_start = now - timedelta(seconds=60)
    return ProviderCall.objects.filter(
        provider_key=key, kind=ProviderCall.Kind.CREATE, started_at__gt=window_start
    ).count()


def provider_key_list() -> QuerySet[ProviderKey]:
    """Operations (admin, metrics): every key, never the secret."""
    return ProviderKey.objects.select_related("organization").order_by("organization_id", "pk")


def own_provider_key(*, organization: Organization) -> ProviderKey | None:
    return ProviderKey.objects.filter(organization=organization).first()


def key_problem_for(*, organization: Organization, now: datetime | None = None) -> str:
    """Why this organization's jobs cannot start ('' when they can): its own key, or every shared key, stopped."""
    now = now or timezone.now()
    own = ProviderKey.objects.filter(organization=organization, enabled=True).first()
    if own is not None:
        if own.stopped_at:
            return (
                "The provider refused your organization's Eachlabs key; your videos stay queued until the key is "
                "replaced on the organization settings page or an operator resumes it."
            )
        return ""
    shared = ProviderKey.objects.filter(organization__isnull=True, enabled=True)
    if shared.exists() and not shared.filter(stopped_at__isnull=True).exists():
        return (
            "Our video provider is refusing our account right now; your videos stay queued and start as soon as "
            "our operators have fixed it. Nothing is charged while they wait."
        )
    return ""
