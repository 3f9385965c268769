"""The one way a generation changes status: compare-and-set with its event, and what follows a terminal state."""

from __future__ import annotations

import logging
import uuid

import structlog
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from generations import holds, notifications, signals
from generations.media_links import webhook_link
from generations.models import Generation, GenerationEvent, Status
from generations.representation import generation_payload
from seedance_saas.dependencies import DEPENDENCY_ERRORS
from webhooks import services as webhooks

logger = logging.getLogger(__name__)
# One line per lifecycle event; generation and organization ids are on it, and bound for everything logged
# while a refresh or a submission runs (bound_to below), so library lines carry them too.
lifecycle_log = structlog.get_logger("generations.lifecycle")

DISPATCH_WAKE_CACHE_KEY = "generations:dispatch-wake"


def bound_to(generation: Generation):
    return structlog.contextvars.bound_contextvars(
        generation_id=str(generation.pk), organization_id=generation.organization_id
    )


def transition(generation: Generation, *, to: str, reason: str, from_: tuple[str, ...], **fields) -> bool:
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


def fail(generation: Generation, *, code: str, message: str, from_: tuple[str, ...]) -> bool:
    """Fail the generation (if it is still in one of `from_`), release its authorization, tell the partner."""
    now = timezone.now()
    with transaction.atomic():
        won = transition(
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
            transaction.on_commit(lambda: after_terminal(generation.pk), robust=True)
    return won


def after_terminal(generation_id: uuid.UUID) -> None:
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
