"""Fair shares of a provider key's slots: weighted by plan, capped per organization and per end user.

The policy is start-time fair queueing (SFQ) with its state in the database (FairShareTag rows, updated
inside the claim transaction that the key's row lock serializes), so any number of dispatcher processes on
any machines share it. Each organization carries a virtual finish tag F; the pool's virtual time V is the
start tag of the job dispatched last. A waiting organization's next job would start at S = max(V, F); the
one with the smallest S gets the slot (ties: oldest waiting job, then id), and then F = S + 1 / weight and
V = S. Over many claims slot shares follow the plan weights; nobody starves (V keeps rising, so a light
organization's S is reached after a bounded number of heavier claims); an organization that was idle comes
back at S = V, with no banked credit. An organization never holds more than its plan's `max_key_share`
percent of a shared key's slots. Inside an organization the oldest job goes first, except that an end user
already holding GENERATION_END_USER_MAX_SHARE percent of the organization's slots waits while another of
its end users has work queued (so one partner's end user cannot fill the partner's share, while a lone end
user still uses all of it).

`pick_organization` and `charge` are pure and also drive the forward simulation in
generations.queue_estimates (which mirrors the within-organization rule in `_pick_index`), so the
estimates follow the policy exactly.

Pools: dispatch passes each provider key's capacity, in-flight jobs and `pool_name(key)`; `pool_capacity()`,
`pool_in_flight()` and POOL are the defaults for callers that name no key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Min

from billing import selectors as billing_selectors
from generations.models import IN_FLIGHT, FairShareTag, Generation

POOL = "shared"  # the one shared key today; the provider-keys work names pools by key


def pool_name(key) -> str:
    """Each provider key's slots are one pool, with its own fair-share tags."""
    return f"key:{key.pk}"


def pool_capacity() -> int:
    """Slots of the pool: today the one shared key's configured in-flight limit (per key once keys are data)."""
    return settings.EACHLABS_MAX_IN_FLIGHT


def pool_in_flight():
    """Generations holding one of the pool's slots (a job the provider has finished holds none while we copy)."""
    return Generation.objects.filter(status__in=IN_FLIGHT, provider_completed_at__isnull=True)


def organization_slot_cap(*, capacity: int, max_key_share: int, shared: bool = True) -> int:
    """The most slots one organization may hold: its plan's share of a shared key (at least one)."""
    if not shared:
        return capacity
    return max(1, capacity * max_key_share // 100)


def end_user_slot_cap(*, organization_cap: int) -> int:
    """The most of its organization's slots one end user holds while another of that organization's users waits."""
    return max(1, organization_cap * settings.GENERATION_END_USER_MAX_SHARE // 100)


@dataclass
class OrganizationState:
    """What the policy needs to know about one organization that has work waiting."""

    organization_id: int
    weight: int
    slot_cap: int
    in_flight: int
    virtual_finish: float
    oldest_waiting: float  # timestamp of its oldest eligible job

    def virtual_start(self, virtual_time: float) -> float:
        return max(virtual_time, self.virtual_finish)


def pick_organization(states: Iterable[OrganizationState], *, virtual_time: float) -> OrganizationState | None:
    """The organization that gets the next slot, or None when every waiting one is at its cap."""
    open_states = [state for state in states if state.in_flight < state.slot_cap]
    if not open_states:
        return None
    return min(open_states, key=lambda s: (s.virtual_start(virtual_time), s.oldest_waiting, s.organization_id))


def charge(state: OrganizationState, *, virtual_time: float) -> tuple[float, float]:
    """The organization's new (virtual start, virtual finish) once it takes a slot; the start is the new V."""
    start = state.virtual_start(virtual_time)
    return start, start + 1.0 / state.weight


def pool_tags(*, pool: str = POOL, organization_ids=None) -> tuple[float, dict[int, float]]:
    """The pool's virtual time V and the virtual finish tag of each organization asked for."""
    tags = FairShareTag.objects.filter(pool=pool)
    virtual_time = tags.aggregate(v=Max("virtual_start"))["v"] or 0.0
    if organization_ids is not None:
        tags = tags.filter(organization_id__in=organization_ids)
    return virtual_time, dict(tags.values_list("organization_id", "virtual_finish"))


def next_candidate(
    *, now: datetime, eligible, capacity: int | None = None, in_flight=None, shared: bool = True, pool: str = POOL
) -> Generation | None:
    """The generation the pool should submit next (locked when the database can skip locked rows), or None.

    Call it inside the claim transaction that holds the pool's lock: it charges the chosen organization's tag.
    `eligible`: queued, due generations of one pool. `capacity` and `in_flight` default to the pool seams above.
    """
    capacity = pool_capacity() if capacity is None else capacity
    in_flight = pool_in_flight() if in_flight is None else in_flight
    oldest = dict(
        eligible.order_by()
        .values("organization_id")
        .annotate(oldest=Min("created_at"))
        .values_list("organization_id", "oldest")
    )
    if not oldest:
        return None
    shares = billing_selectors.dispatch_shares(organization_ids=oldest)
    holding = dict(
        in_flight.filter(organization_id__in=oldest)
        .order_by()
        .values("organization_id")
        .annotate(n=Count("pk"))
        .values_list("organization_id", "n")
    )
    virtual_time, finish = pool_tags(pool=pool, organization_ids=oldest)
    states = [
        OrganizationState(
            organization_id=org_id,
            weight=shares[org_id].weight,
            slot_cap=organization_slot_cap(
                capacity=capacity, max_key_share=shares[org_id].max_key_share, shared=shared
            ),
            in_flight=holding.get(org_id, 0),
            virtual_finish=finish.get(org_id, 0.0),
            oldest_waiting=oldest_at.timestamp(),
        )
        for org_id, oldest_at in oldest.items()
    ]
    state = pick_organization(states, virtual_time=virtual_time)
    if state is None:
        return None
    user_cap = end_user_slot_cap(organization_cap=state.slot_cap)
    at_cap = [
        end_user_id
        for end_user_id, n in in_flight.filter(organization_id=state.organization_id)
        .order_by()
        .values("end_user_id")
        .annotate(n=Count("pk"))
        .values_list("end_user_id", "n")
        if n >= user_cap
    ]
    candidates = eligible.filter(organization_id=state.organization_id).order_by("created_at")
    generation = _first_locked(candidates.exclude(end_user_id__in=at_cap)) or _first_locked(candidates)
    if generation is not None:
        start, finish_tag = charge(state, virtual_time=virtual_time)
        FairShareTag.objects.update_or_create(
            pool=pool,
            organization_id=state.organization_id,
            defaults={"virtual_start": start, "virtual_finish": finish_tag},
        )
    return generation


def _first_locked(candidates) -> Generation | None:
    if connection.features.has_select_for_update_skip_locked:
        candidates = candidates.select_for_update(skip_locked=True)
    return candidates.select_related("end_user").first()
