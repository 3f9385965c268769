"""Dispatch: claim queued generations fairly within the provider's limits and submit them."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from generations.eachlabs.client import (
    EachlabsError,
    PredictionInput,
    ProviderAuthError,
    ProviderInvalidInput,
    ProviderNotFound,
    ProviderRateLimited,
    get_client,
)
from generations.media_links import provider_link
from generations.models import IN_FLIGHT, Generation, ProviderCall, Status
from generations.services import fairness
from generations.services.polling import poll_delay_s
from generations.services.provider_calls import backoff_s, record_call
from generations.services.provider_keys import provider_key_locked, provider_key_pause, provider_key_stop
from generations.services.transitions import bound_to, fail, transition


def dispatch_pending(*, max_submissions: int | None = None, should_stop=None) -> int:
    """Submit queued generations while the key has a free slot and create budget; returns how many.
    `should_stop` (the ticker's shutdown flag) is asked before each claim: a stopping node takes no new job."""
    submitted = 0
    while max_submissions is None or submitted < max_submissions:
        if should_stop is not None and should_stop():
            break
        generation = generation_claim_next()
        if generation is None:
            break
        with bound_to(generation):
            _submit(generation)
        submitted += 1
    return submitted


def generation_claim_next() -> Generation | None:
    """Take the next generation fairly, if the provider's limits allow; serialized by the key-state row lock."""
    now = timezone.now()
    with transaction.atomic():
        state = provider_key_locked()
        if state.auth_failed_at or (state.paused_until and state.paused_until > now):
            return None
        # A job the provider has finished holds none of its slots while we copy the video.
        in_flight = Generation.objects.filter(status__in=IN_FLIGHT, provider_completed_at__isnull=True)
        if in_flight.count() >= settings.EACHLABS_MAX_IN_FLIGHT:
            return None
        window_start = now - timedelta(seconds=60)
        creates = ProviderCall.objects.filter(kind=ProviderCall.Kind.CREATE, started_at__gt=window_start).count()
        if creates >= settings.EACHLABS_MAX_CREATES_PER_MINUTE:
            return None
        generation = _next_fair_candidate(now)
        if generation is None:
            return None
        won = transition(
            generation,
            to=Status.SUBMITTING,
            reason=f"submitting (attempt {generation.attempts + 1})",
            from_=(Status.QUEUED,),
            submitted_at=now,
        )
        if not won:
            return None
        # The create is counted against the budget now, inside the lock, before the HTTP call.
        generation.provider_call = ProviderCall.objects.create(
            kind=ProviderCall.Kind.CREATE, generation=generation, started_at=now
        )
    return generation


def _eligible(now: datetime):
    return Generation.objects.filter(status=Status.QUEUED).filter(Q(not_before__isnull=True) | Q(not_before__lte=now))


def _next_fair_candidate(now: datetime) -> Generation | None:
    return fairness.next_candidate(now=now, eligible=_eligible(now))


def _submit(generation: Generation) -> None:
    call = generation.provider_call
    started = time.monotonic()
    try:
        prediction_id = get_client().create_prediction(
            _prediction_input(generation), webhook_url=_webhook_url(generation)
        )
    except EachlabsError as error:
        record_call(call, started, error=error)
        _handle_submit_error(generation, error)
        return
    record_call(call, started, status_code=200)
    now = timezone.now()
    transition(
        generation,
        to=Status.PROCESSING,
        reason=f"accepted by the provider as {prediction_id}",
        from_=(Status.SUBMITTING,),
        prediction_id=prediction_id,
        deadline_at=now + timedelta(seconds=settings.GENERATION_DEADLINE_S),
        next_poll_at=now + timedelta(seconds=poll_delay_s(generation, now)),
    )


def _prediction_input(generation: Generation) -> PredictionInput:
    return PredictionInput(
        prompt=generation.prompt,
        image_url=_frame_url(generation, generation.image, generation.image_url),
        end_image_url=_frame_url(generation, generation.end_image, generation.end_image_url) or None,
        resolution=generation.resolution,
        duration=generation.duration,
        aspect_ratio=generation.aspect_ratio,
        generate_audio=generation.generate_audio,
        seed=generation.seed or None,
        end_user_id=generation.end_user.upstream_id,
    )


def _frame_url(generation: Generation, field_file, url: str) -> str:
    """The caller's URL, or a link to our upload that the provider may fetch while the job runs."""
    return provider_link(name=field_file.name, generation=generation).url if field_file else url


def _webhook_url(generation: Generation) -> str:
    return f"{settings.SITE_URL}/hooks/eachlabs/{generation.webhook_secret}/"


def _handle_submit_error(generation: Generation, error: EachlabsError) -> None:
    now = timezone.now()
    if isinstance(error, ProviderRateLimited):
        wait_s = error.retry_after or settings.EACHLABS_DEFAULT_RETRY_AFTER_S
        resume_at = now + timedelta(seconds=wait_s)
        provider_key_pause(until=resume_at, wait_s=wait_s)
        _requeue(generation, not_before=resume_at, reason=f"provider rate limit; retry after {wait_s:.0f} s")
    elif isinstance(error, ProviderAuthError):
        provider_key_stop()
        _requeue(generation, not_before=None, reason="provider refused the API key; waiting for operators")
    elif isinstance(error, ProviderInvalidInput | ProviderNotFound):
        message = error.message + (f" ({error.details})" if error.details else "")
        fail(generation, code=error.code, message=message, from_=(Status.SUBMITTING,))
    elif generation.attempts + 1 >= settings.EACHLABS_MAX_SUBMIT_ATTEMPTS:
        fail(
            generation,
            code="provider_unavailable",
            message=(
                f"The provider kept failing ({error.code}) after {generation.attempts + 1} attempts; "
                "nothing was charged."
            ),
            from_=(Status.SUBMITTING,),
        )
    else:
        delay_s = backoff_s(generation.attempts + 1)
        _requeue(
            generation,
            not_before=now + timedelta(seconds=delay_s),
            reason=f"{error.code}; retrying in {delay_s:.0f} s",
            attempts=generation.attempts + 1,
        )


def _requeue(generation: Generation, *, not_before: datetime | None, reason: str, **fields) -> None:
    transition(generation, to=Status.QUEUED, reason=reason, from_=(Status.SUBMITTING,), not_before=not_before, **fields)
