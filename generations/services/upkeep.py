"""Upkeep, run by the ticker: recover interrupted submissions, time out the overdue, poll, dispatch."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from generations import privacy_upkeep
from generations.models import Generation, Status
from generations.services.dispatch import dispatch_pending
from generations.services.tracking import poll_due
from generations.services.transitions import fail
from webhooks import services as webhooks


def fail_overdue() -> int:
    """In flight past the deadline: failed as `timeout`, nothing charged."""
    count = 0
    overdue = Generation.objects.filter(status=Status.PROCESSING, deadline_at__lt=timezone.now())
    minutes = settings.GENERATION_DEADLINE_S // 60
    for generation in overdue.only("pk", "organization_id", "status"):
        message = f"The provider did not finish within {minutes} minutes; nothing was charged."
        count += fail(generation, code="timeout", message=message, from_=(Status.PROCESSING,))
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
        count += fail(generation, code="submission_outcome_unknown", message=message, from_=(Status.SUBMITTING,))
    return count


def upkeep_pass(*, should_stop=None) -> dict[str, int]:
    """One round of everything the ticker does; safe to run from several workers at once."""
    return {
        "recovered": recover_stuck_submissions(),
        "timed_out": fail_overdue(),
        "polled": poll_due(),
        "dispatched": dispatch_pending(should_stop=should_stop),
        "webhooks_requeued": webhooks.deliveries_requeue_lost(),
        **privacy_upkeep.upkeep(),
    }
