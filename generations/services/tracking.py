"""Tracking: provider webhooks as hints, polls as the truth, and the progress we show meanwhile."""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import F
from django.utils import timezone
from django_q.tasks import async_task

from generations.eachlabs.client import EachlabsError, PredictionStatus, ProviderAuthError, ProviderNotFound, get_client
from generations.models import Generation, ProviderCall, Status
from generations.services.finishing import finish_success
from generations.services.polling import WEBHOOK_SEEN_CACHE_KEY, expected_processing_s, schedule_poll
from generations.services.provider_calls import backoff_s, record_call
from generations.services.provider_keys import provider_key_stop
from generations.services.transitions import bound_to, fail


def generation_for_webhook(*, secret: str) -> Generation | None:
    """The generation whose webhook secret this is (compared in constant time), or None."""
    generation = Generation.objects.filter(webhook_secret=secret).only("pk", "webhook_secret", "status").first()
    if generation is None or not secrets.compare_digest(generation.webhook_secret, secret):
        return None
    return generation


def webhook_received(*, generation: Generation) -> None:
    """A provider webhook is only a hint: count it and wake a refresh, which asks the provider itself."""
    # The poll comes due within the lease too, so a refresh lost with a killed worker costs seconds.
    lease = timezone.now() + timedelta(seconds=settings.GENERATION_POLL_LEASE_S)
    Generation.objects.filter(pk=generation.pk).update(webhooks_received=F("webhooks_received") + 1)
    Generation.objects.filter(pk=generation.pk, status=Status.PROCESSING, next_poll_at__gt=lease).update(
        next_poll_at=lease
    )
    cache.set(WEBHOOK_SEEN_CACHE_KEY, True, timeout=settings.EACHLABS_WEBHOOK_HEALTHY_S)
    if generation.status == Status.PROCESSING:
        async_task("generations.tasks.refresh", str(generation.pk), task_name="refresh")


def generation_refresh(*, generation_id: uuid.UUID | str) -> Generation:
    """Ask the provider for the authoritative status and act on it."""
    generation = Generation.objects.select_related("organization", "end_user", "provider_key").get(pk=generation_id)
    if generation.status != Status.PROCESSING:
        return generation
    with bound_to(generation):
        return _refresh(generation)


def _refresh(generation: Generation) -> Generation:
    call = ProviderCall.objects.create(
        kind=ProviderCall.Kind.GET,
        generation=generation,
        provider_key_id=generation.provider_key_id,
        started_at=timezone.now(),
    )
    started = time.monotonic()
    Generation.objects.filter(pk=generation.pk).update(polls=F("polls") + 1)
    try:
        # Prediction ids are private to the key that created them.
        result = get_client(generation.provider_key).get_prediction(generation.prediction_id)
    except ProviderNotFound as error:
        record_call(call, started, error=error)
        fail(
            generation,
            code="provider_not_found",
            message="The provider no longer knows this job.",
            from_=(Status.PROCESSING,),
        )
        return generation
    except EachlabsError as error:
        record_call(call, started, error=error)
        if isinstance(error, ProviderAuthError) and generation.provider_key_id:
            provider_key_stop(key_id=generation.provider_key_id)
        schedule_poll(generation, extra_s=backoff_s(2))
        return generation
    record_call(call, started, status_code=200)
    if result.status == PredictionStatus.PROCESSING:
        schedule_poll(generation)
    elif result.status == PredictionStatus.FAILED:
        message = result.message or "The provider could not make this video."
        if result.details:
            message = f"{message} ({result.details})"
        fail(generation, code="provider_error", message=message, from_=(Status.PROCESSING,))
    else:
        finish_success(generation, result)
    return generation


def poll_due(*, limit: int = 50) -> int:
    """Hand processing generations whose poll is due to the workers, in parallel; returns how many."""
    now = timezone.now()
    due = list(
        Generation.objects.filter(status=Status.PROCESSING, next_poll_at__lte=now)
        .order_by("next_poll_at")
        .values_list("pk", flat=True)[:limit]
    )
    refreshed = 0
    for generation_id in due:
        # Lease the poll so an overlapping ticker skips it; the refresh sets the real next time, and a
        # refresh lost with its worker (or with a Redis queue a killed node had fetched) comes due again
        # when the short lease runs out. A refresh running twice does no harm (the finish is compare-and-set).
        lease = now + timedelta(seconds=settings.GENERATION_POLL_LEASE_S)
        if Generation.objects.filter(pk=generation_id, next_poll_at__lte=now).update(next_poll_at=lease):
            async_task("generations.tasks.refresh", str(generation_id), task_name="refresh")
            refreshed += 1
    return refreshed


def generation_progress(*, generation: Generation) -> int:
    """A rough 0-100 for the progress bar: time at the provider against the expected processing time."""
    if generation.is_terminal:
        return 100
    if generation.status != Status.PROCESSING or generation.submitted_at is None:
        return 0
    elapsed_s = (timezone.now() - generation.submitted_at).total_seconds()
    return max(1, min(95, int(100 * elapsed_s / max(expected_processing_s(), 1.0))))
