"""Builders for queue states: plans with dispatch terms, queued rows at known times, in-flight rows, a claim loop."""

from __future__ import annotations

import itertools
import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts import services as accounts_services
from billing.models import BillingAccount, Plan
from generations import services
from generations.models import Generation, Status
from generations.services.provider_keys import provider_key_default_ensure

_plans = itertools.count()


def set_plan(organization, *, weight: int = 1, max_key_share: int = 100) -> Plan:
    """Put the organization on a plan with these dispatch terms (through billing's own row, as operators do)."""
    n = next(_plans)
    plan = Plan.objects.create(
        name=f"Plan {n}",
        slug=f"plan-{n}",
        price_480p=Decimal("0.1412"),
        price_720p=Decimal("0.3024"),
        price_1080p=Decimal("0.685"),
        dispatch_weight=weight,
        max_key_share=max_key_share,
    )
    BillingAccount.objects.filter(organization=organization).update(plan=plan)
    return plan


def end_user(organization, external_id: str = "partner-user"):
    return accounts_services.end_user_for_partner(organization=organization, external_id=external_id)


def queue_rows(organization, count: int, *, user=None, start: datetime, step_s: float = 1.0, **fields) -> list:
    """`count` queued generations created at start, start + step_s, ... (oldest first)."""
    user = user or end_user(organization)
    rows = Generation.objects.bulk_create(
        Generation(
            organization=organization,
            end_user=user,
            prompt="queued",
            resolution="480p",
            duration="5",
            aspect_ratio="16:9",
            webhook_secret=secrets.token_urlsafe(24),
            **fields,
        )
        for _ in range(count)
    )
    for index, row in enumerate(rows):
        row.created_at = start + timedelta(seconds=index * step_s)
        Generation.objects.filter(pk=row.pk).update(created_at=row.created_at)
    return rows


def in_flight_rows(organization, submitted: list[datetime], *, user=None) -> list:
    """Generations the provider is working on, submitted at the given times."""
    rows = queue_rows(organization, len(submitted), user=user, start=min(submitted) - timedelta(minutes=5))
    key = provider_key_default_ensure()  # the shared key's slots: it holds them
    for row, at in zip(rows, submitted, strict=True):
        Generation.objects.filter(pk=row.pk).update(
            status=Status.PROCESSING, submitted_at=at, prediction_id=f"p-{row.pk}", provider_key=key
        )
    return rows


def claim_all() -> list[Generation]:
    """Claim through the real dispatcher (without the HTTP call) until it says no."""
    claimed = []
    while (generation := services.generation_claim_next()) is not None:
        Generation.objects.filter(pk=generation.pk).update(status=Status.PROCESSING, prediction_id=f"p-{generation.pk}")
        claimed.append(generation)
    return claimed


def finish_oldest(count: int = 1) -> None:
    """The provider ends the `count` longest-running jobs (freeing their slots)."""
    now = timezone.now()
    oldest = Generation.objects.filter(status=Status.PROCESSING).order_by("submitted_at").values_list("pk", flat=True)
    Generation.objects.filter(pk__in=list(oldest[:count])).update(
        status=Status.SUCCEEDED, provider_completed_at=now, completed_at=now
    )
