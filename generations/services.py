"""Every write of the generation lifecycle: create, dispatch, refresh, finish, cancel, retry, recover."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import random
import secrets
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import structlog
from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone
from django_q.tasks import async_task

from accounts.models import ApiKey, EndUser, Organization, User
from billing import services as billing
from generations import catalog, holds, notifications, signals, video
from generations.catalog import GenerationInputs
from generations.eachlabs.client import (
    EachlabsError,
    PredictionInput,
    PredictionResult,
    PredictionStatus,
    ProviderAuthError,
    ProviderInvalidInput,
    ProviderNotFound,
    ProviderRateLimited,
    get_client,
)
from generations.media_links import provider_link, webhook_link
from generations.models import IN_FLIGHT, Generation, GenerationEvent, ProviderCall, ProviderKeyState, Status
from generations.representation import generation_payload
from seedance_saas.dependencies import DEPENDENCY_ERRORS
from seedance_saas.errors import Conflict, NotFound
from webhooks import services as webhooks

logger = logging.getLogger(__name__)
# One line per lifecycle event; generation and organization ids are on it, and bound for everything logged
# while a refresh or a submission runs (bound_contextvars below), so library lines carry them too.
lifecycle_log = structlog.get_logger("generations.lifecycle")


def _bound_to(generation: Generation):
    return structlog.contextvars.bound_contextvars(
        generation_id=str(generation.pk), organization_id=generation.organization_id
    )


WEBHOOK_SEEN_CACHE_KEY = "generations:webhook-seen"
DISPATCH_WAKE_CACHE_KEY = "generations:dispatch-wake"


# --- Transitions ------------------------------------------------------------------


def _transition(generation: Generation, *, to: str, reason: str, from_: tuple[str, ...], **fields) -> bool:
    """Compare-and-set the status and write its event in one transaction; False when another writer won."""
    with transaction.atomic():
        changed = Generation.objects.filter(pk=generation.pk, status__in=from_).update(
            status=to, updated_at=timezone.now(), **fields
        )
        if not changed:
            return False
        GenerationEvent.objects.create(
            organization_id=generation.organization_id,
            generation_id=generation.pk,
            from_status=generation.status if generation.status in from_ else from_[0],
            to_status=to,
            reason=reason[:500],
        )
    lifecycle_log.info(
        "generation_transition",
        generation_id=str(generation.pk),
        organization_id=generation.organization_id,
        from_status=generation.status,
        to_status=to,
        reason=reason[:500],
    )
    generation.status = to
    for name, value in fields.items():
        setattr(generation, name, value)
    return True


def _fail(generation: Generation, *, code: str, message: str, from_: tuple[str, ...]) -> bool:
    """Fail the generation (if it is still in one of `from_`), release its authorization, tell the partner."""
    now = timezone.now()
    with transaction.atomic():
        won = _transition(
            generation,
            to=Status.FAILED,
            reason=f"{code}: {message}",
            from_=from_,
            error_code=code,
            error_message=message,
            completed_at=now,
            next_poll_at=None,
        )
        if won:
            holds.generation_end_unbilled(generation=generation, code=code, from_=from_)
            transaction.on_commit(lambda: _after_terminal(generation.pk), robust=True)
    return won


def _after_terminal(generation_id: uuid.UUID) -> None:
    """After a terminal transition commits: free the slot, notify the partner, and email the browser user."""
    wake_dispatcher()
    try:
        generation_publish_terminal_event(generation_id=generation_id)
    finally:
        notifications.owner_notify_enqueue(generation_id=generation_id)
        signals.generation_ended_send(generation_id=generation_id)


def wake_dispatcher() -> None:
    """Enqueue a dispatch unless one was enqueued in the last second (the ticker covers the rest).

    Only a wake-up: with the cache or broker down, the queued row waits for the ticker, and the caller (a
    create that has committed) still succeeds rather than answering an error for work that was saved.
    """
    try:
        if cache.add(DISPATCH_WAKE_CACHE_KEY, True, timeout=1):
            async_task("generations.tasks.dispatch", task_name="dispatch")
    except DEPENDENCY_ERRORS as exc:
        logger.warning("dispatcher not woken (the ticker will dispatch): %s: %s", type(exc).__name__, exc)


# --- Create, cancel, retry ----------------------------------------------------------


def generation_create(
    *,
    organization: Organization,
    end_user: EndUser,
    inputs: GenerationInputs,
    image: File | None = None,
    end_image: File | None = None,
    created_by: User | None = None,
    api_key: ApiKey | None = None,
    retry_of: Generation | None = None,
    continues: Generation | None = None,
    generation_id: uuid.UUID | None = None,
) -> Generation:
    """Authorize the spend and queue the generation; the dispatcher is woken after commit.

    `generation_id` names a hold authorized beforehand under that id (a storyboard authorizes all its shots at once);
    spend_authorize is idempotent per source id, so that hold is the one used."""
    if end_user.organization_id != organization.pk:
        raise NotFound("Unknown end user.")
    generation = Generation(
        organization=organization,
        end_user=end_user,
        created_by=created_by,
        api_key=api_key,
        retry_of=retry_of,
        continues=continues,
        webhook_secret=secrets.token_urlsafe(32),
        **dataclasses.asdict(inputs),
    )
    if generation_id is not None:
        generation.pk = generation_id
    # Files are written before the transaction: storage may be remote (S3) and no HTTP runs inside one.
    # Our copy is named by the format Pillow detected, never by the uploader's file name (see _input_path).
    if image is not None:
        generation.image.save(f"frame.{catalog.stored_image_extension(image)}", image, save=False)
    if end_image is not None:
        generation.end_image.save(f"frame.{catalog.stored_image_extension(end_image)}", end_image, save=False)
    quote = billing.quote(organization=organization, resolution=inputs.resolution, duration=inputs.duration)
    generation.estimated_cost = quote.authorized_amount
    try:
        with transaction.atomic():
            billing.spend_authorize(
                organization=organization,
                end_user=end_user,
                source_id=generation.pk,
                resolution=inputs.resolution,
                duration=inputs.duration,
            )
            generation.save(force_insert=True)
            GenerationEvent.objects.create(
                organization=organization,
                generation=generation,
                to_status=Status.QUEUED,
                reason=f"retry of {retry_of.pk}" if retry_of else "created",
            )
            transaction.on_commit(wake_dispatcher)
    except Exception:
        _delete_files(generation.image.name, generation.end_image.name)
        raise
    lifecycle_log.info(
        "generation_created",
        generation_id=str(generation.pk),
        organization_id=organization.pk,
        origin="api" if api_key else "browser",
        resolution=inputs.resolution,
        duration=inputs.duration,
    )
    return generation


def generation_cancel(*, generation: Generation, reason: str = "canceled by the user") -> Generation:
    with transaction.atomic():
        if _transition(
            generation, to=Status.CANCELED, reason=reason, from_=(Status.QUEUED,), completed_at=timezone.now()
        ):
            billing.spend_release(source_id=generation.pk, reason="canceled")
            transaction.on_commit(lambda: _after_terminal(generation.pk), robust=True)
            return generation
    generation.refresh_from_db()
    if generation.status in IN_FLIGHT:
        raise Conflict(
            "This generation is already at the provider, which cannot stop a job once it has started. "
            "It will finish or fail on its own.",
            code="not_cancelable",
        )
    raise Conflict(f"This generation is already {generation.status}.", code="not_cancelable")


def generation_retry(
    *, generation: Generation, created_by: User | None = None, api_key: ApiKey | None = None
) -> Generation:
    """A failed or canceled generation runs again as a new generation linked to it."""
    if generation.status not in (Status.FAILED, Status.CANCELED):
        raise Conflict(
            f"Only failed or canceled generations can be retried; this one is {generation.status}.",
            code="not_retryable",
        )
    # The Generation keeps every input under the catalog's own field names.
    inputs = GenerationInputs(
        **{field.name: getattr(generation, field.name) for field in dataclasses.fields(GenerationInputs)}
    )
    return generation_create(
        organization=generation.organization,
        end_user=generation.end_user,
        inputs=inputs,
        image=_reopen(generation.image),
        end_image=_reopen(generation.end_image),
        created_by=created_by,
        api_key=api_key,
        retry_of=generation,
    )


def _reopen(field_file) -> File | None:
    if not field_file:
        return None
    return File(default_storage.open(field_file.name, "rb"), name=field_file.name.rsplit("/", 1)[-1])


def _delete_files(*names: str) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


# --- Dispatch -----------------------------------------------------------------------


def _key_fingerprint() -> str:
    key = settings.EACHLABS_API_KEY or "simulator"
    return hashlib.sha256(f"{settings.EACHLABS_BASE_URL}|{key}".encode()).hexdigest()


def provider_key_fingerprint() -> str:
    """The SHA-256 that names the configured provider key in ProviderKeyState (never the key itself)."""
    return _key_fingerprint()


def provider_key_state() -> ProviderKeyState:
    state, _ = ProviderKeyState.objects.get_or_create(key_fingerprint=_key_fingerprint())
    return state


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
        with _bound_to(generation):
            _submit(generation)
        submitted += 1
    return submitted


def generation_claim_next() -> Generation | None:
    """Take the next generation fairly, if the provider's limits allow; serialized by the key-state row lock."""
    now = timezone.now()
    with transaction.atomic():
        provider_key_state()  # make sure the row exists before locking it
        state = ProviderKeyState.objects.select_for_update().get(key_fingerprint=_key_fingerprint())
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
        won = _transition(
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
    """Round-robin across organizations (least recently served first), oldest first within one."""
    last_served = (
        Generation.objects.filter(organization=OuterRef("pk"), submitted_at__isnull=False)
        .order_by("-submitted_at")
        .values("submitted_at")[:1]
    )
    oldest_waiting = _eligible(now).filter(organization=OuterRef("pk")).order_by("created_at").values("created_at")[:1]
    organization_id = (
        Organization.objects.filter(pk__in=_eligible(now).values("organization_id"))
        .annotate(last_served=Subquery(last_served), oldest_waiting=Subquery(oldest_waiting))
        .order_by(F("last_served").asc(nulls_first=True), "oldest_waiting", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    if organization_id is None:
        return None
    candidates = _eligible(now).filter(organization_id=organization_id).order_by("created_at")
    if connection.features.has_select_for_update_skip_locked:
        candidates = candidates.select_for_update(skip_locked=True)
    return candidates.select_related("end_user").first()


def _submit(generation: Generation) -> None:
    call = generation.provider_call
    started = time.monotonic()
    try:
        prediction_id = get_client().create_prediction(
            _prediction_input(generation), webhook_url=_webhook_url(generation)
        )
    except EachlabsError as error:
        _record_call(call, started, error=error)
        _handle_submit_error(generation, error)
        return
    _record_call(call, started, status_code=200)
    now = timezone.now()
    _transition(
        generation,
        to=Status.PROCESSING,
        reason=f"accepted by the provider as {prediction_id}",
        from_=(Status.SUBMITTING,),
        prediction_id=prediction_id,
        deadline_at=now + timedelta(seconds=settings.GENERATION_DEADLINE_S),
        next_poll_at=now + timedelta(seconds=_poll_delay_s(generation, now)),
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


def _record_call(call: ProviderCall, started: float, *, status_code: int | None = None, error=None) -> None:
    call.latency_ms = int((time.monotonic() - started) * 1000)
    call.status_code = status_code if error is None else error.status_code
    call.error_code = "" if error is None else error.code
    call.save(update_fields=["latency_ms", "status_code", "error_code"])


def _handle_submit_error(generation: Generation, error: EachlabsError) -> None:
    now = timezone.now()
    if isinstance(error, ProviderRateLimited):
        wait_s = error.retry_after or settings.EACHLABS_DEFAULT_RETRY_AFTER_S
        resume_at = now + timedelta(seconds=wait_s)
        ProviderKeyState.objects.filter(key_fingerprint=_key_fingerprint()).update(
            paused_until=resume_at, last_error=f"429 rate limited; paused for {wait_s:.0f} s"
        )
        _requeue(generation, not_before=resume_at, reason=f"provider rate limit; retry after {wait_s:.0f} s")
    elif isinstance(error, ProviderAuthError):
        ProviderKeyState.objects.filter(key_fingerprint=_key_fingerprint()).update(
            auth_failed_at=now, last_error="401: the provider refused our API key"
        )
        logger.error("Eachlabs refused the API key (401); dispatch is stopped until an operator resumes it.")
        _requeue(generation, not_before=None, reason="provider refused the API key; waiting for operators")
    elif isinstance(error, ProviderInvalidInput | ProviderNotFound):
        message = error.message + (f" ({error.details})" if error.details else "")
        _fail(generation, code=error.code, message=message, from_=(Status.SUBMITTING,))
    elif generation.attempts + 1 >= settings.EACHLABS_MAX_SUBMIT_ATTEMPTS:
        _fail(
            generation,
            code="provider_unavailable",
            message=(
                f"The provider kept failing ({error.code}) after {generation.attempts + 1} attempts; "
                "nothing was charged."
            ),
            from_=(Status.SUBMITTING,),
        )
    else:
        delay_s = _backoff_s(generation.attempts + 1)
        _requeue(
            generation,
            not_before=now + timedelta(seconds=delay_s),
            reason=f"{error.code}; retrying in {delay_s:.0f} s",
            attempts=generation.attempts + 1,
        )


def _requeue(generation: Generation, *, not_before: datetime | None, reason: str, **fields) -> None:
    _transition(
        generation, to=Status.QUEUED, reason=reason, from_=(Status.SUBMITTING,), not_before=not_before, **fields
    )


def _backoff_s(attempt: int) -> float:
    """Exponential backoff with full jitter, capped."""
    ceiling = min(settings.EACHLABS_BACKOFF_BASE_S * 2 ** (attempt - 1), settings.EACHLABS_BACKOFF_MAX_S)
    return random.uniform(ceiling / 2, ceiling)


def provider_resume() -> None:
    """Operators: clear a 401 stop or a rate-limit pause and dispatch again."""
    ProviderKeyState.objects.filter(key_fingerprint=_key_fingerprint()).update(
        auth_failed_at=None, paused_until=None, last_error=""
    )
    wake_dispatcher()


# --- Tracking -----------------------------------------------------------------------


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


def _poll_delay_s(generation: Generation, now: datetime) -> float:
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
    generation = Generation.objects.select_related("organization", "end_user").get(pk=generation_id)
    if generation.status != Status.PROCESSING:
        return generation
    with _bound_to(generation):
        return _refresh(generation)


def _refresh(generation: Generation) -> Generation:
    call = ProviderCall.objects.create(kind=ProviderCall.Kind.GET, generation=generation, started_at=timezone.now())
    started = time.monotonic()
    Generation.objects.filter(pk=generation.pk).update(polls=F("polls") + 1)
    try:
        result = get_client().get_prediction(generation.prediction_id)
    except ProviderNotFound as error:
        _record_call(call, started, error=error)
        _fail(
            generation,
            code="provider_not_found",
            message="The provider no longer knows this job.",
            from_=(Status.PROCESSING,),
        )
        return generation
    except EachlabsError as error:
        _record_call(call, started, error=error)
        _schedule_poll(generation, extra_s=_backoff_s(2))
        return generation
    _record_call(call, started, status_code=200)
    if result.status == PredictionStatus.PROCESSING:
        _schedule_poll(generation)
    elif result.status == PredictionStatus.FAILED:
        message = result.message or "The provider could not make this video."
        if result.details:
            message = f"{message} ({result.details})"
        _fail(generation, code="provider_error", message=message, from_=(Status.PROCESSING,))
    else:
        _finish_success(generation, result)
    return generation


def _schedule_poll(generation: Generation, *, extra_s: float = 0.0) -> None:
    now = timezone.now()
    next_poll_at = now + timedelta(seconds=_poll_delay_s(generation, now) + extra_s)
    Generation.objects.filter(pk=generation.pk, status=Status.PROCESSING).update(next_poll_at=next_poll_at)


def _finish_success(generation: Generation, result: PredictionResult) -> None:
    """Copy the video into our storage, measure it, and commit success with its usage record."""
    now = timezone.now()
    if generation.provider_completed_at is None:
        Generation.objects.filter(pk=generation.pk).update(provider_completed_at=now)
    # A copy takes longer than a poll: hold the poll lease for it, so the next pass does not start a second copy.
    copy_lease = now + timedelta(seconds=settings.EACHLABS_READ_TIMEOUT_S)
    Generation.objects.filter(pk=generation.pk, status=Status.PROCESSING).update(next_poll_at=copy_lease)
    with tempfile.TemporaryFile() as buffer:
        call = ProviderCall.objects.create(
            kind=ProviderCall.Kind.DOWNLOAD, generation=generation, started_at=timezone.now()
        )
        started = time.monotonic()
        try:
            get_client().download_output(result.output, buffer, max_bytes=settings.GENERATION_MAX_VIDEO_BYTES)
        except ProviderNotFound as error:
            _record_call(call, started, error=error)
            _fail(
                generation,
                code="output_expired",
                message="The provider's video link expired before we could copy it.",
                from_=(Status.PROCESSING,),
            )
            return
        except EachlabsError as error:
            _record_call(call, started, error=error)
            if not error.retryable:
                _fail(generation, code=error.code, message=error.message, from_=(Status.PROCESSING,))
            else:
                _schedule_poll(generation, extra_s=_backoff_s(2))
            return
        _record_call(call, started, status_code=200)
        measured_s = video.duration_seconds(buffer)
        if measured_s is None:
            _fail(
                generation,
                code="invalid_output",
                message="The provider returned a file that is not a playable video.",
                from_=(Status.PROCESSING,),
            )
            return
        buffer.seek(0)
        name = default_storage.save(
            f"generations/videos/{generation.organization_id}/{secrets.token_hex(16)}.mp4", File(buffer)
        )
    _commit_success(generation, result=result, video_name=name, measured_s=measured_s)


def _commit_success(generation: Generation, *, result: PredictionResult, video_name: str, measured_s: Decimal) -> None:
    now = timezone.now()
    with transaction.atomic():
        won = _transition(
            generation,
            to=Status.SUCCEEDED,
            reason=f"video ready ({measured_s} s)",
            from_=(Status.PROCESSING,),
            video=video_name,
            duration_seconds=measured_s,
            predict_time=result.predict_time,
            provider_output_url=result.output or "",
            completed_at=now,
            next_poll_at=None,
        )
        if won:
            record = billing.usage_record_create(source_id=generation.pk, measured_seconds=measured_s, completed_at=now)
            Generation.objects.filter(pk=generation.pk).update(cost=record.amount)
            generation.cost = record.amount
            transaction.on_commit(lambda: _after_terminal(generation.pk), robust=True)
    if not won:  # another refresh finished it first; ours is a spare copy
        default_storage.delete(video_name)


# --- Upkeep (run by the ticker) -----------------------------------------------------


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


def fail_overdue() -> int:
    """In flight past the deadline: failed as `timeout`, nothing charged."""
    count = 0
    overdue = Generation.objects.filter(status=Status.PROCESSING, deadline_at__lt=timezone.now())
    minutes = settings.GENERATION_DEADLINE_S // 60
    for generation in overdue.only("pk", "organization_id", "status"):
        message = f"The provider did not finish within {minutes} minutes; nothing was charged."
        count += _fail(generation, code="timeout", message=message, from_=(Status.PROCESSING,))
    return count


def recover_stuck_submissions() -> int:
    """A submission interrupted by a crash may or may not have reached the provider: fail it, never resubmit."""
    cutoff = timezone.now() - timedelta(seconds=settings.GENERATION_SUBMITTING_STUCK_S)
    count = 0
    stuck = Generation.objects.filter(status=Status.SUBMITTING, submitted_at__lt=cutoff)
    for generation in stuck.only("pk", "organization_id", "status"):
        message = (
            "submission outcome unknown: the worker stopped while sending it to the provider; nothing was charged."
        )
        count += _fail(generation, code="submission_outcome_unknown", message=message, from_=(Status.SUBMITTING,))
    return count


def upkeep_pass(*, should_stop=None) -> dict[str, int]:
    """One round of everything the ticker does; safe to run from several workers at once."""
    return {
        "recovered": recover_stuck_submissions(),
        "timed_out": fail_overdue(),
        "polled": poll_due(),
        "dispatched": dispatch_pending(should_stop=should_stop),
        "webhooks_requeued": webhooks.deliveries_requeue_lost(),
    }


def generation_publish_terminal_event(*, generation_id: uuid.UUID | str) -> None:
    """Tell the partner's webhook endpoints that a generation ended (runs in a task, after commit)."""
    generation = Generation.objects.select_related("organization", "end_user").get(pk=generation_id)
    if not generation.is_terminal:
        return
    organization_id = generation.organization_id
    webhooks.event_publish(
        organization=generation.organization,
        event_type=f"generation.{generation.status}",
        payload=generation_payload(
            generation, link_for=lambda name: webhook_link(name=name, organization_id=organization_id)
        ),
    )


def generation_progress(*, generation: Generation) -> int:
    """A rough 0-100 for the progress bar: time at the provider against the expected processing time."""
    if generation.is_terminal:
        return 100
    if generation.status != Status.PROCESSING or generation.submitted_at is None:
        return 0
    elapsed_s = (timezone.now() - generation.submitted_at).total_seconds()
    return max(1, min(95, int(100 * elapsed_s / max(expected_processing_s(), 1.0))))
