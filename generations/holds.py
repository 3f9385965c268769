"""Spend holds follow their job: released whatever ends it (failure, cancel, timeout, deletion), swept when orphaned."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from billing import selectors as billing_selectors
from billing import services as billing
from generations.models import TERMINAL, Generation, Status

logger = logging.getLogger(__name__)

# A hold with no generation is only an orphan once the creating transaction has surely ended (both are written
# in one transaction, so this is a margin for other callers of spend_authorize, not a race we know of).
ORPHAN_GRACE = timedelta(minutes=10)
SWEEP_CHUNK = 500


def generation_deleted(*, generation: Generation) -> None:
    """A deleted generation (admin, queryset or cascade) releases its hold; nothing is charged for it."""
    billing.spend_release(source_id=generation.pk, reason="deleted")


def holds_sweep() -> int:
    """Release every hold whose generation has ended or no longer exists; returns how many were released."""
    orphan_before = timezone.now() - ORPHAN_GRACE
    released = 0
    held = list(billing_selectors.spend_authorizations_held().values_list("source_id", "created_at"))
    for offset in range(0, len(held), SWEEP_CHUNK):
        chunk = held[offset : offset + SWEEP_CHUNK]
        statuses = dict(Generation.objects.filter(pk__in=[sid for sid, _ in chunk]).values_list("pk", "status"))
        for source_id, created_at in chunk:
            status = statuses.get(source_id)
            if status is None and created_at < orphan_before:
                reason = "swept: generation gone"
            elif status in TERMINAL:
                reason = f"swept: generation {status}"
                if status == Status.SUCCEEDED:
                    # Success settles its hold in the same transaction; a held one means a path skipped billing.
                    logger.error("hold of succeeded generation %s was still held; released by the sweeper", source_id)
            else:
                continue
            released += billing.spend_release(source_id=source_id, reason=reason)
    if released:
        logger.warning("released %d spend hold(s) whose generation had ended or was gone", released)
    return released
