"""Dispatch: claim queued generations fairly within the provider's limits and submit them."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from generations import provider_key_selectors
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
from generations.models import Generation, ProviderCall, ProviderKey, Status
from generations.services import fairness
from generations.services.polling import poll_delay_s
from generations.services.provider_calls import backoff_s, record_call
from generations.services.provider_keys import (
    provider_key_default_ensure,
    provider_key_locked,
    provider_key_probe_up,
    provider_key_rate_limited,
    provider_key_stop,
)
from generations.services.transitions import bound_to, fail, transition


def dispatch_pending(*, max_submissions: int | None = None, should_stop=None) -> int:
    """Submit queued generations while a key has a free slot and create budget; returns how many.
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
    """Take the next generation on the first key that has room, if any; each key's row lock serializes its claims."""
    provider_key_default_ensure()
    now = timezone.now()
    for key_id in provider_key_selectors.dispatchable_key_ids(now=now):
        generation = generation_claim_on_key(key_id=key_id, now=now)
        if generation is not None:
            return generation
    return None


def generation_claim_on_key(*, key_id: int, now: datetime) -> Generation | None:
    """Take the next generation for one key's pool, if its limits and state allow; serialized by its row lock."""
    with transaction.atomic():
        key = provider_key_locked(key_id)
        if not key.enabled or key.state_at(now) != "active":
            return None
        provider_key_probe_up(key, now)
        if provider_key_selectors.key_in_flight(key=key) >= key.in_flight_limit:
            return None
        if provider_key_selectors.key_creates_last_minute(key=key, now=now) >= key.max_creates_per_minute:
            return None
        eligible = provider_key_selectors.eligible_for_key(key=key, now=now)
        generation = _next_fair_candidate(key=key, now=now, eligible=eligible)
        if generation is None:
            return None
        won = transition(
            generation,
            to=Status.SUBMITTING,
            reason=f"submitting (attempt {generation.attempts + 1}) on provider key {key.label}",
            from_=(Status.QUEUED,),
            submitted_at=now,
            provider_key=key,
        )
        if not won:
            return None
        # The create is counted against the key's budget now, inside the lock, before the HTTP call.
        generation.provider_call = ProviderCall.objects.create(
            kind=ProviderCall.Kind.CREATE, generation=generation, provider_key=key, started_at=now
        )
    return generation


def _next_fair_candidate(*, key: ProviderKey, now: datetime, eligible: QuerySet[Generation]) -> Generation | None:
    """The fair choice among `eligible` (the queued generations this key may run) for this key's slots."""
    return fairness.next_candidate(
        now=now,
        eligible=eligible,
        capacity=key.in_flight_limit,
        in_flight=provider_key_selectors.key_in_flight_jobs(key=key),
        shared=key.organization_id is None,
        pool=fairness.pool_name(key),
    )


def _submit(generation: Generation) -> None:
    call = generation.provider_call
    started = time.monotonic()
    try:
        prediction_id = get_client(generation.provider_key).create_prediction(
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
    key = generation.provider_key
    if isinstance(error, ProviderRateLimited):
        wait_s = error.retry_after or settings.EACHLABS_DEFAULT_RETRY_AFTER_S
        resume_at = now + timedelta(seconds=wait_s)
        # What the key carried when the provider refused one more: the other jobs in flight on it.
        in_flight = provider_key_selectors.key_in_flight(key=key) - 1
        creates = provider_key_selectors.key_creates_last_minute(key=key, now=now)
        provider_key_rate_limited(key_id=key.pk, until=resume_at, wait_s=wait_s, in_flight=in_flight, creates=creates)
        _requeue(generation, not_before=resume_at, reason=f"provider rate limit; retry after {wait_s:.0f} s")
    elif isinstance(error, ProviderAuthError):
        provider_key_stop(key_id=key.pk)
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
