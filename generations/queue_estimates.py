"""Queue position and estimated start/finish of every queued generation: the dispatcher simulated forward.

From the pool's state now (jobs in flight and their expected ends = submitted_at + the learned processing
time, the queue in order, each organization's recent submissions, plan weights and caps) a small
discrete-event simulation replays generations.services.fairness over the pool's slots until the queue is
empty. The order in which it starts jobs is their position; the time it starts one is its estimated start;
start + processing time its estimated finish. The work is capped (GENERATION_ETA_MAX_QUEUED oldest queued
jobs; later ones get no estimate) and the result cached for GENERATION_ETA_CACHE_S, so every read of every
page costs at most one simulation every few seconds.

Each enabled provider key's slots are one pool (its own key's organization, or the organizations without one),
simulated on its own; positions count within the pool the generation waits in.
"""

from __future__ import annotations

import bisect
import contextlib
import heapq
import itertools
import random
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from billing import selectors as billing_selectors
from generations import provider_key_selectors
from generations.models import IN_FLIGHT, Generation, ProviderKey, Status
from generations.services import fairness
from generations.services.polling import expected_processing_s
from generations.services.provider_keys import provider_key_default_ensure
from seedance_saas.dependencies import DEPENDENCY_ERRORS

CACHE_KEY = "generations:queue-estimates:v2"


@dataclass(frozen=True)
class Estimate:
    queue_position: int | None = None
    estimated_start_at: datetime | None = None
    estimated_finish_at: datetime | None = None


UNKNOWN = Estimate()


@dataclass
class _Job:
    id: str | None  # None: a forecast arrival
    organization_id: int
    end_user_id: object
    created_at: float
    not_before: float


def generation_estimate(*, generation: Generation, now: datetime | None = None) -> Estimate:
    """Position and estimates of one generation; UNKNOWN when it is not waiting or running or cannot be told."""
    return generation_estimates(generations=[generation], now=now)[generation.pk]


def generation_estimates(*, generations, now: datetime | None = None) -> dict:
    """Estimates of several generations by pk, with one cache read and one processing-time query at most."""
    now = now or timezone.now()
    generations = list(generations)
    queued = queue_estimates(now=now) if any(g.status == Status.QUEUED for g in generations) else {}
    running = [g for g in generations if g.status in IN_FLIGHT and g.submitted_at and not g.provider_completed_at]
    processing_s = slot_time_s() if running else 0.0
    estimates = {g.pk: queued.get(str(g.pk), UNKNOWN) if g.status == Status.QUEUED else UNKNOWN for g in generations}
    for g in running:
        estimates[g.pk] = Estimate(estimated_finish_at=max(g.submitted_at + timedelta(seconds=processing_s), now))
    return estimates


def queue_estimates(*, now: datetime | None = None) -> dict[str, Estimate]:
    """Every queued generation's estimate by id (cached for a few seconds; see the module note)."""
    try:
        cached = cache.get(CACHE_KEY)
    except DEPENDENCY_ERRORS:  # the cache is down: estimates are a nicety, computed without it
        cached = None
    if cached is not None:
        return cached
    estimates = simulate(now=now or timezone.now())
    with contextlib.suppress(*DEPENDENCY_ERRORS):
        cache.set(CACHE_KEY, estimates, timeout=settings.GENERATION_ETA_CACHE_S)
    return estimates


def slot_times_s() -> list[float]:
    """Recent slot times: submitted -> provider done of the last 50 successes (what really frees a slot; longer
    than the provider's own `predict_time`, which leaves out its queueing and our detection)."""
    recent = Generation.objects.filter(
        status=Status.SUCCEEDED, submitted_at__isnull=False, provider_completed_at__isnull=False
    ).order_by("-completed_at")
    return [
        (done - sent).total_seconds() for sent, done in recent.values_list("submitted_at", "provider_completed_at")[:50]
    ]


def slot_time_s() -> float:
    """The typical slot time: the median of slot_times_s() once there are five, else expected_processing_s()."""
    samples = slot_times_s()
    return float(statistics.median(samples)) if len(samples) >= 5 else expected_processing_s()


def arrival_intervals(*, now: datetime) -> dict[int, tuple[float, int]]:
    """Per organization: seconds between its submissions over the last GENERATION_ETA_ARRIVALS_WINDOW_S, and the end
    user who submitted last (forecast jobs come from them, so they wait behind that user's cap like the real ones)."""
    window_s = settings.GENERATION_ETA_ARRIVALS_WINDOW_S
    if window_s <= 0:
        return {}
    counts: dict[int, int] = defaultdict(int)
    last_user: dict[int, int] = {}
    recent = Generation.objects.filter(created_at__gte=now - timedelta(seconds=window_s)).order_by("created_at")
    for org_id, user_id in recent.values_list("organization_id", "end_user_id"):
        counts[org_id] += 1
        last_user[org_id] = user_id
    return {org_id: (window_s / n, last_user[org_id]) for org_id, n in counts.items()}


@dataclass
class _Snapshot:
    t0: float
    capacity: int
    running: list  # (organization, end user, submitted at)
    queued: list[_Job]
    intervals: dict[int, tuple[float, int]]  # organization: (seconds between arrivals, end user)
    shares: dict
    virtual_time: float
    finish: dict[int, float]
    shared: bool = True


def simulate(*, now: datetime) -> dict[str, Estimate]:
    """Run the dispatcher forward from the pool's state at `now` (uncached; see queue_estimates).

    - Organizations keep submitting at their recent rates (forecast arrivals, evenly spaced): a job from a heavier
      organization that arrives later can still start first. Forecast jobs take slots but get no estimate.
    - Slot times vary (the provider's sd is ~35 s on ~220 s), and which of ten jobs ends first matters most to a
      short wait: with enough history the simulation runs GENERATION_ETA_SAMPLES times with slot times drawn from
      the recent ones (a job in flight: from those longer than it has already run), and each job gets its median
      start. Without history it runs once with the typical slot time. The draws are seeded: the same state gives
      the same answer.
    """
    provider_key_default_ensure()
    estimates: dict[str, Estimate] = {}
    for key in ProviderKey.objects.filter(enabled=True):
        snapshot = _snapshot(now, key)
        if snapshot is not None:
            estimates.update(_simulate_pool(snapshot))
    return estimates


def _simulate_pool(snapshot: _Snapshot) -> dict[str, Estimate]:
    samples = slot_times_s()
    typical_s = float(statistics.median(samples)) if len(samples) >= 5 else expected_processing_s()
    runs = []
    if len(samples) >= 5:
        rng = random.Random(len(snapshot.queued))
        count = max(1, min(settings.GENERATION_ETA_SAMPLES, 5000 // (len(snapshot.queued) + snapshot.capacity)))
        for _ in range(count):
            runs.append(_run(snapshot, lambda elapsed: _draw(rng, samples, elapsed)))
    else:
        runs.append(_run(snapshot, lambda elapsed: max(typical_s, elapsed)))
    starts: dict[str, float] = {}
    for job in snapshot.queued:
        seen = sorted(run[job.id] for run in runs if job.id in run)
        if len(seen) * 2 > len(runs):
            starts[job.id] = (
                seen[len(seen) // 2] if len(seen) % 2 else (seen[len(seen) // 2 - 1] + seen[len(seen) // 2]) / 2
            )
    order = sorted(starts, key=lambda job_id: (starts[job_id], runs[0].get(job_id, float("inf"))))
    return {
        job_id: Estimate(position, _at(starts[job_id]), _at(starts[job_id] + typical_s))
        for position, job_id in enumerate(order, start=1)
    }


def _draw(rng: random.Random, samples: list[float], elapsed: float) -> float:
    """A slot time from the recent ones, given the job has already run `elapsed` seconds (0 for a new job)."""
    longer = [sample for sample in samples if sample > elapsed]
    return rng.choice(longer) if longer else elapsed


def _snapshot(now: datetime, key: ProviderKey) -> _Snapshot | None:
    if key.stopped_at:
        return None  # nothing starts until operators fix the key: no honest estimate exists
    start = max(now, key.paused_until) if key.paused_until else now
    queued = [
        _Job(str(pk), org_id, user_id, created.timestamp(), not_before.timestamp() if not_before else 0.0)
        for pk, org_id, user_id, created, not_before in provider_key_selectors.queued_for_key(key=key)
        .order_by("created_at", "pk")
        .values_list("pk", "organization_id", "end_user_id", "created_at", "not_before")[
            : settings.GENERATION_ETA_MAX_QUEUED
        ]
    ]
    if not queued:
        return None
    pool_organizations = {job.organization_id for job in queued}
    if key.organization_id is not None:
        pool_organizations.add(key.organization_id)
    own_key_organizations = set(provider_key_selectors.own_key_organization_ids())

    def in_pool(org_id: int) -> bool:
        if key.organization_id is not None:
            return org_id == key.organization_id
        return org_id not in own_key_organizations

    intervals = {org_id: interval for org_id, interval in arrival_intervals(now=now).items() if in_pool(org_id)}
    org_ids = pool_organizations | set(intervals)
    virtual_time, finish = fairness.pool_tags(pool=fairness.pool_name(key), organization_ids=org_ids)
    return _Snapshot(
        t0=start.timestamp(),
        capacity=key.in_flight_limit,
        running=[
            (org_id, user_id, (submitted_at or now).timestamp())
            for org_id, user_id, submitted_at in provider_key_selectors.key_in_flight_jobs(key=key).values_list(
                "organization_id", "end_user_id", "submitted_at"
            )
        ],
        queued=queued,
        intervals=intervals,
        shares=billing_selectors.dispatch_shares(organization_ids=org_ids),
        virtual_time=virtual_time,
        finish=finish,
        shared=key.organization_id is None,
    )


def _run(snapshot: _Snapshot, duration_of) -> dict[str, float]:
    """One pass of the dispatcher over the pool's slots; `duration_of(elapsed)` is a job's slot time. Start times."""
    t0, capacity, shares = snapshot.t0, snapshot.capacity, snapshot.shares
    virtual_time, finish = snapshot.virtual_time, dict(snapshot.finish)
    ends: list[tuple[float, int, int, object]] = []  # (end, tie-breaker, organization, end user)
    ties = itertools.count()
    org_in_flight: dict[int, int] = defaultdict(int)
    user_in_flight: dict = defaultdict(int)
    for org_id, user_id, submitted_at in snapshot.running:
        end = submitted_at + duration_of(max(0.0, t0 - submitted_at))
        heapq.heappush(ends, (max(end, t0), next(ties), org_id, user_id))
        org_in_flight[org_id] += 1
        user_in_flight[user_id] += 1
    slot_caps = {
        org_id: fairness.organization_slot_cap(
            capacity=capacity, max_key_share=share.max_key_share, shared=snapshot.shared
        )
        for org_id, share in shares.items()
    }
    user_caps = {org_id: fairness.end_user_slot_cap(organization_cap=cap) for org_id, cap in slot_caps.items()}
    waiting: dict[int, list[_Job]] = defaultdict(list)  # real jobs, oldest first
    for job in snapshot.queued:
        waiting[job.organization_id].append(job)
    held_back = sorted(job.not_before for job in snapshot.queued if job.not_before > t0)
    intervals = snapshot.intervals
    # Forecast jobs are counted, not listed: they always queue behind the organization's real jobs (they arrive
    # later, from its latest end user), so an organization's pending ones are `forecast[org]` jobs whose oldest
    # arrived at next_arrival - count * interval. This keeps an overloaded forecast from piling up work.
    forecast: dict[int, int] = defaultdict(int)
    next_arrival = {org_id: t0 + interval for org_id, (interval, _) in intervals.items()}

    starts: dict[str, float] = {}
    real_left = len(snapshot.queued)
    horizon = t0 + settings.GENERATION_ETA_HORIZON_S
    t = t0
    budget = 20 * (real_left + capacity) + 1000  # steps; a last bound on the work
    while real_left and t <= horizon and budget > 0:
        budget -= 1
        for org_id, at in next_arrival.items():
            interval = intervals[org_id][0]
            if at <= t:
                arrived = int((t - at) // interval) + 1
                forecast[org_id] += arrived
                next_arrival[org_id] = at + arrived * interval
        while ends and ends[0][0] <= t:
            _, _, org_id, user_id = heapq.heappop(ends)
            org_in_flight[org_id] -= 1
            user_in_flight[user_id] -= 1
        state = None
        if len(ends) < capacity:
            states = []
            for org_id in set(waiting) | set(forecast):
                oldest = _first_due(waiting.get(org_id, ()), t)
                if oldest is None and forecast.get(org_id):
                    interval = intervals[org_id][0]
                    oldest_at = next_arrival[org_id] - forecast[org_id] * interval
                elif oldest is not None:
                    oldest_at = oldest.created_at
                else:
                    continue
                states.append(
                    fairness.OrganizationState(
                        organization_id=org_id,
                        weight=shares[org_id].weight,
                        slot_cap=slot_caps[org_id],
                        in_flight=org_in_flight[org_id],
                        virtual_finish=finish.get(org_id, 0.0),
                        oldest_waiting=oldest_at,
                    )
                )
            state = fairness.pick_organization(states, virtual_time=virtual_time)
        if state is None:
            t = _next_event(t, ends, held_back, next_arrival, full=len(ends) >= capacity)
            continue
        org_id = state.organization_id
        jobs = waiting.get(org_id, [])
        index = _pick_index(jobs, t, user_in_flight, user_caps[org_id])
        if index is None:  # only forecast jobs are waiting
            forecast[org_id] -= 1
            job_id, user_id = None, intervals[org_id][1]
        else:
            job = jobs.pop(index)
            job_id, user_id = job.id, job.end_user_id
            if not jobs:
                del waiting[org_id]
        virtual_time, finish[org_id] = fairness.charge(state, virtual_time=virtual_time)
        heapq.heappush(ends, (t + duration_of(0.0), next(ties), org_id, user_id))
        org_in_flight[org_id] += 1
        user_in_flight[user_id] += 1
        if job_id is not None:
            real_left -= 1
            starts[job_id] = t
    return starts


def _first_due(jobs, t: float) -> _Job | None:
    return next((job for job in jobs if job.not_before <= t), None)


def _pick_index(jobs: list[_Job], t: float, user_in_flight: dict, user_cap: int) -> int | None:
    """fairness.pick_job over the due jobs, by index: oldest first, skipping end users at their cap while another
    end user waits."""
    first = None
    for index, job in enumerate(jobs):
        if job.not_before > t:
            continue
        if first is None:
            first = index
        if user_in_flight.get(job.end_user_id, 0) < user_cap:
            return index
    return first


def _next_event(t: float, ends: list, held_back: list[float], next_arrival: dict[int, float], *, full: bool) -> float:
    """The next time anything can change: a slot frees up, a held-back job becomes due, a forecast job arrives.
    With every slot taken only an end can change anything (arrivals in between are counted when it comes)."""
    if full and ends:
        return ends[0][0]
    candidates = [ends[0][0]] if ends else []
    later = bisect.bisect_right(held_back, t)
    if later < len(held_back):
        candidates.append(held_back[later])
    candidates += list(next_arrival.values())
    return min(candidates) if candidates else float("inf")


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)
