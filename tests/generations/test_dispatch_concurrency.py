"""Dispatchers racing in several threads (separate connections): no double submit, limits held."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from generations import services, tasks, ticker
from generations.models import Generation, ProviderCall, ProviderKey, Status
from tests.concurrency import run_at_once
from tests.generations.test_lifecycle import create


@pytest.fixture(autouse=True)
def generous_trial(settings):
    settings.TRIAL_CREDIT_USD = Decimal(1000)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_dispatchers_never_submit_twice(organization, other_organization, simulator, settings):
    key = services.provider_key_default_ensure()
    ProviderKey.objects.filter(pk=key.pk).update(max_in_flight=8)
    for index in range(20):
        create(organization if index % 3 else other_organization)
    results = run_at_once(services.dispatch_pending, threads=6)
    assert not [result for result in results if isinstance(result, BaseException)]
    submitted = Generation.objects.filter(status=Status.PROCESSING)
    assert submitted.count() == 8
    creates_per_generation = Counter(
        ProviderCall.objects.filter(kind=ProviderCall.Kind.CREATE).values_list("generation_id", flat=True)
    )
    assert set(creates_per_generation.values()) == {1}
    assert simulator.stats["creates"] == 8
    assert len(set(submitted.values_list("prediction_id", flat=True))) == 8


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_dispatchers_keep_each_keys_limit_across_two_keys(organization, other_organization, simulator):
    from generations.eachlabs.client import SIMULATOR_API_KEY
    from generations.services import own_provider_keys

    simulator.config.accepted_keys = frozenset({SIMULATOR_API_KEY, "own-key-race-0001"})
    own = own_provider_keys.own_provider_key_attach(organization=organization, secret="own-key-race-0001")
    shared = services.provider_key_default_ensure()
    ProviderKey.objects.filter(pk=own.pk).update(max_in_flight=3)
    ProviderKey.objects.filter(pk=shared.pk).update(max_in_flight=4)
    for index in range(16):
        create(organization if index % 2 else other_organization)
    results = run_at_once(services.dispatch_pending, threads=6)
    assert not [result for result in results if isinstance(result, BaseException)]
    processing = Generation.objects.filter(status=Status.PROCESSING)
    assert processing.filter(provider_key=own, organization=organization).count() == 3
    assert processing.filter(provider_key=shared, organization=other_organization).count() == 4
    assert processing.count() == 7 and simulator.stats["creates"] == 7
    creates = Counter(
        ProviderCall.objects.filter(kind=ProviderCall.Kind.CREATE).values_list("generation_id", flat=True)
    )
    assert set(creates.values()) == {1}


def test_only_one_ticker_runs_at_a_time(organization, simulator):
    create(organization)
    from django.core.cache import cache

    cache.add(ticker.LEASE_KEY, "someone-else", timeout=60)
    assert tasks.tick() == 0
    assert Generation.objects.get().status == Status.QUEUED
    cache.delete(ticker.LEASE_KEY)
    assert tasks.tick() == 1
    assert Generation.objects.get().status == Status.PROCESSING


def test_schedule_is_registered_once(db):
    from django.core.management import call_command
    from django_q.models import Schedule

    call_command("migrate", verbosity=0)
    call_command("migrate", verbosity=0)
    assert Schedule.objects.filter(name="generations: tick", func="generations.tasks.tick").count() == 1
