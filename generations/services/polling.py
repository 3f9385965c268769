"""When to ask the provider again: around the expected end of the job, lazily while webhooks arrive."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from generations.models import Generation, Status

WEBHOOK_SEEN_CACHE_KEY = "generations:webhook-seen"


def expected_processing_s() -> float:
    """The median provider processing time of recent jobs, or the configured guess before there are any."""
    recent = list(
        Generation.objects.filter(status=Status.SUCCEEDED, predict_time__isnull=False)
        .order_by("-completed_at")
        .values_list("predict_time", flat=True)[:50]
    )
    if len(recent) >= 5:
        return float(statistics.median(recent))
    return settings.EACHLABS_EXPECTED_PROCESSING_S


def poll_delay_s(generation: Generation, now: datetime) -> float:
    """Poll rarely while the job cannot be done yet, often around the expected end; lazily when webhooks work."""
    elapsed = (now - generation.submitted_at).total_seconds() if generation.submitted_at else 0.0
    remaining = expected_processing_s() - elapsed
    floor = settings.EACHLABS_POLL_MIN_S
    # Halve the wait while the job should still be running; past the expected end, back off slowly.
    delay = max(floor, remaining / 2) if remaining > 0 else floor - remaining * 0.1
    if cache.get(WEBHOOK_SEEN_CACHE_KEY):
        # Webhooks are arriving: polling is only the safety net for a lost one.
        delay = max(delay, remaining + settings.EACHLABS_POLL_SAFETY_NET_S)
    return min(delay, settings.EACHLABS_POLL_MAX_S)


def schedule_poll(generation: Generation, *, extra_s: float = 0.0) -> None:
    now = timezone.now()
    next_poll_at = now + timedelta(seconds=poll_delay_s(generation, now) + extra_s)
    Generation.objects.filter(pk=generation.pk, status=Status.PROCESSING).update(next_poll_at=next_poll_at)
