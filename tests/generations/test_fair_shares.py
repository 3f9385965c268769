"""Fair shares of the provider key: plan weights, the per-organization cap, the per end user cap, oldest first."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from generations.models import Generation, Status
from generations.services import fairness
from tests.generations.queue_rows import claim_all, end_user, finish_oldest, queue_rows, set_plan

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def run_steady_state(clock, steps: int) -> list[Generation]:
    """Every 22 s the longest-running job ends and the dispatcher fills what is free (one job in, one out)."""
    order = claim_all()
    for _ in range(steps):
        clock.shift(22)
        finish_oldest()
        order += claim_all()
    return order


def test_weights_3_to_1_give_slot_shares_near_3_to_1(organization, other_organization, clock, settings):
    settings.EACHLABS_MAX_IN_FLIGHT = 10
    set_plan(organization, weight=3)
    set_plan(other_organization, weight=1)
    queue_rows(organization, 300, start=START - timedelta(hours=1))
    queue_rows(other_organization, 300, start=START - timedelta(hours=1))
    order = run_steady_state(clock, 200)
    shares = Counter(generation.organization_id for generation in order)
    ratio = shares[organization.pk] / shares[other_organization.pk]
    assert len(order) == 210
    assert 2.7 <= ratio <= 3.3, shares
    # Nobody starves: the weight-1 organization is served in every stretch of 8 claims.
    served = [generation.organization_id == other_organization.pk for generation in order]
    assert all(any(served[i : i + 8]) for i in range(len(served) - 8))


def test_a_heavy_weight_does_not_starve_weight_1(organization, other_organization, clock):
    set_plan(organization, weight=50)
    set_plan(other_organization, weight=1)
    queue_rows(organization, 200, start=START - timedelta(hours=1))
    light = queue_rows(other_organization, 5, start=START - timedelta(minutes=1))
    order = run_steady_state(clock, 120)
    served = [generation.pk for generation in order if generation.organization_id == other_organization.pk]
    assert len(served) >= 2
    assert served[0] == light[0].pk


def test_equal_weights_alternate_and_a_newcomer_is_served_next(organization, other_organization, clock):
    queue_rows(organization, 30, start=START - timedelta(hours=1))
    order = claim_all()
    assert len(order) == 10
    newcomer = queue_rows(other_organization, 3, start=START)
    clock.shift(5)
    finish_oldest()
    assert [generation.pk for generation in claim_all()] == [newcomer[0].pk]


def test_max_key_share_caps_an_organization_even_alone(organization, other_organization, clock, settings):
    settings.EACHLABS_MAX_IN_FLIGHT = 10
    set_plan(organization, weight=5, max_key_share=30)
    queue_rows(organization, 20, start=START - timedelta(hours=1))
    assert len(claim_all()) == 3
    queue_rows(other_organization, 20, start=START)
    rest = claim_all()
    assert {generation.organization_id for generation in rest} == {other_organization.pk}
    assert len(rest) == 7
    for _ in range(20):  # the capped organization never holds more than 3, however the slots turn over
        clock.shift(22)
        finish_oldest()
        claim_all()
        assert Generation.objects.filter(organization=organization, status=Status.PROCESSING).count() <= 3


def test_one_end_user_cannot_fill_the_partners_share_while_another_waits(organization, clock, settings):
    settings.EACHLABS_MAX_IN_FLIGHT = 10
    settings.GENERATION_END_USER_MAX_SHARE = 50
    heavy, light = end_user(organization, "heavy"), end_user(organization, "light")
    queue_rows(organization, 20, user=heavy, start=START - timedelta(hours=1))
    queue_rows(organization, 8, user=light, start=START - timedelta(minutes=1))
    claimed = Counter(generation.end_user_id for generation in claim_all())
    assert claimed == {heavy.pk: 5, light.pk: 5}


def test_a_lone_end_user_still_uses_every_slot(organization, clock, settings):
    settings.EACHLABS_MAX_IN_FLIGHT = 10
    queue_rows(organization, 12, user=end_user(organization, "only"), start=START - timedelta(hours=1))
    assert len(claim_all()) == 10


def test_oldest_first_within_an_organization(organization, clock):
    user_a, user_b = end_user(organization, "a"), end_user(organization, "b")
    older = queue_rows(organization, 2, user=user_b, start=START - timedelta(minutes=10), step_s=60)
    newer = queue_rows(organization, 2, user=user_a, start=START - timedelta(minutes=9, seconds=30), step_s=60)
    order = [generation.pk for generation in claim_all()]
    assert order == [older[0].pk, newer[0].pk, older[1].pk, newer[1].pk]


def test_next_candidate_honours_the_pool_it_is_given(organization, other_organization, clock):
    """The seam for per-key pools: only the `eligible` rows are considered."""
    queue_rows(organization, 2, start=START - timedelta(hours=1))
    theirs = queue_rows(other_organization, 2, start=START)
    eligible = Generation.objects.filter(status=Status.QUEUED, organization=other_organization)
    assert fairness.next_candidate(now=timezone.now(), eligible=eligible).pk == theirs[0].pk
