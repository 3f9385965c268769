"""Jobs that end unbilled: their spend hold is released whatever ends them (failure, cancel, timeout, deletion, the
sweeper), and what the provider may still charge us for them is recorded for the margin."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from billing import provider_costs
from billing import selectors as billing_selectors
from billing import services as billing
from billing.models import ProviderChargeBasis
from generations.models import IN_FLIGHT, TERMINAL, Generation, Status

logger = logging.getLogger(__name__)

# A hold with no generation is only an orphan once the creating transaction has surely ended (both are written
# in one transaction, so this is a margin for other callers of spend_authorize, not a race we know of).
ORPHAN_GRACE = timedelta(minutes=10)
SWEEP_CHUNK = 500


def provider_charge_basis(*, code: str, from_: tuple[str, ...]) -> str | None:
    """Whether the provider bills a job that failed with `code` while in `from_` (contract: billed by output length).

    - Refused or never accepted at submission: no job, no bill; but a submission whose outcome we lost may have
      landed and run.
    - Accepted, then reported `error` by the provider: no output, no bill.
    - Accepted and reported success, then lost on our side (link expired, file unreadable or too large): billed.
    - Accepted and never heard of again (our deadline passed, the provider forgot the id): it may have run.
    """
    if Status.PROCESSING not in from_:
        return ProviderChargeBasis.OUTCOME_UNKNOWN if code == "submission_outcome_unknown" else None
    if code == "provider_error":
        return None
    if code in ("timeout", "provider_not_found"):
        return ProviderChargeBasis.OUTCOME_UNKNOWN
    return ProviderChargeBasis.OUTPUT_LOST


def generation_end_unbilled(*, generation: Generation, code: str, from_: tuple[str, ...]) -> None:
    """A job failed: the customer pays nothing (hold released); the provider's possible charge is recorded.

    Call inside the transaction of the terminal transition."""
    billing.spend_release(source_id=generation.pk, reason=code)
    basis = provider_charge_basis(code=code, from_=from_)
    if basis is not None:
        provider_costs.provider_charge_record(
            source_id=generation.pk, basis=basis, incurred_at=timezone.now(), reason=code
        )


def generation_deleted(*, generation: Generation) -> None:
    """A deleted generation (admin, queryset or cascade) releases its hold; nothing is charged for it.

    One deleted while at the provider may still be billed by it, so that cost is recorded."""
    billing.spend_release(source_id=generation.pk, reason="deleted")
    if generation.status in IN_FLIGHT:
        provider_costs.provider_charge_record(
            source_id=generation.pk,
            basis=ProviderChargeBasis.OUTCOME_UNKNOWN,
            incurred_at=timezone.now(),
            reason=f"deleted while {generation.status}",
        )


# Apps built on generations that authorize holds before the generation exists (a storyboard's chained shots)
# register a keeper at startup: given source ids, it returns those it still means to run. Never swept as orphans.
_HOLD_KEEPERS: list = []


def register_hold_keeper(keeper) -> None:
    if keeper not in _HOLD_KEEPERS:
        _HOLD_KEEPERS.append(keeper)


def _kept_by_others(source_ids: set) -> set:
    kept: set = set()
    for keeper in _HOLD_KEEPERS:
        kept |= set(keeper(source_ids))
    return kept


def holds_sweep() -> int:
    """Release every hold whose generation has ended or no longer exists; returns how many were released."""
    orphan_before = timezone.now() - ORPHAN_GRACE
    released = 0
    held = list(billing_selectors.spend_authorizations_held().values_list("source_id", "created_at"))
    for offset in range(0, len(held), SWEEP_CHUNK):
        chunk = held[offset : offset + SWEEP_CHUNK]
        statuses = dict(Generation.objects.filter(pk__in=[sid for sid, _ in chunk]).values_list("pk", "status"))
        kept = _kept_by_others({sid for sid, _ in chunk})
        for source_id, created_at in chunk:
            status = statuses.get(source_id)
            if status is None and source_id in kept:
                continue
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
