"""Fair shares of a provider key's slots: weighted by plan, capped per organization and per end user.

The policy is weighted fair queueing over a sliding window, derived from rows every dispatcher can read
(no process memory): an organization's virtual finish time is (its submissions in the last
GENERATION_FAIR_WINDOW_S + 1) / its plan's weight, and the waiting organization with the smallest one
gets the next slot (ties: oldest waiting job, then id). Over many claims the slot shares follow the
weights; nobody starves, because an organization's count only grows when it is served. An organization
never holds more than its plan's `max_key_share` percent of a shared key's slots. Inside an organization
the oldest job goes first, except that an end user already holding GENERATION_END_USER_MAX_SHARE percent
of the organization's slots waits while another of its end users has work queued (so one partner's end
user cannot fill the partner's share, and a lone end user still uses all of it).

The same pure functions (`pick_organization`, `pick_job`) drive the dispatcher here and the forward
simulation in generations.queue_estimates, so the estimates follow the policy exactly.

Pool seams (the provider-keys work makes these per key): `pool_capacity()` and `pool_in_flight()`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, Min

from billing import selectors as billing_selectors
from generations.models import IN_FLIGHT, Generation


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
    recent: int  # submissions within the fairness window
    oldest_waiting: float  # timestamp of its oldest eligible job

    @property
    def virtual_finish(self) -> float:
        return (self.recent + 1) / self.weight


def pick_organization(states: Iterable[OrganizationState]) -> int | None:
    """The organization that gets the next slot, or None when every waiting one is at its cap."""
    open_states = [state for state in states if state.in_flight < state.slot_cap]
    if not open_states:
        return None
    best = min(open_states, key=lambda s: (s.virtual_finish, s.oldest_waiting, s.organization_id))
    return best.organization_id


def pick_job(jobs: Sequence, *, end_user_of, user_in_flight: dict, user_cap: int):
    """Oldest first (`jobs` are in order), skipping end users at their cap while another end user waits."""
    for job in jobs:
        if user_in_flight.get(end_user_of(job), 0) < user_cap:
            return job
    return jobs[0] if jobs else None


def fair_window_start(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.GENERATION_FAIR_WINDOW_S)


def next_candidate(
    *, now: datetime, eligible, capacity: int | None = None, in_flight=None, shared: bool = True
) -> Generation | None:
    """The generation the pool should submit next (locked when the database can skip locked rows), or None.

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
    recent = dict(
        Generation.objects.filter(organization_id__in=oldest, submitted_at__gte=fair_window_start(now))
        .order_by()
        .values("organization_id")
        .annotate(n=Count("pk"))
        .values_list("organization_id", "n")
    )
    states = [
        OrganizationState(
            organization_id=org_id,
            weight=shares[org_id].weight,
            slot_cap=organization_slot_cap(
                capacity=capacity, max_key_share=shares[org_id].max_key_share, shared=shared
            ),
            in_flight=holding.get(org_id, 0),
            recent=recent.get(org_id, 0),
            oldest_waiting=oldest_at.timestamp(),
        )
        for org_id, oldest_at in oldest.items()
    ]
    organization_id = pick_organization(states)
    if organization_id is None:
        return None
    state = next(s for s in states if s.organization_id == organization_id)
    user_cap = end_user_slot_cap(organization_cap=state.slot_cap)
    at_cap = [
        end_user_id
        for end_user_id, n in in_flight.filter(organization_id=organization_id)
        .order_by()
        .values("end_user_id")
        .annotate(n=Count("pk"))
        .values_list("end_user_id", "n")
        if n >= user_cap
    ]
    candidates = eligible.filter(organization_id=organization_id).order_by("created_at")
    return _first_locked(candidates.exclude(end_user_id__in=at_cap)) or _first_locked(candidates)


def _first_locked(candidates) -> Generation | None:
    if connection.features.has_select_for_update_skip_locked:
        candidates = candidates.select_for_update(skip_locked=True)
    return candidates.select_related("end_user").first()
