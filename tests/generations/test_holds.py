"""A spend hold is released whatever ends its job: failure, cancel, timeout, lost submission, deletion, the sweeper."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing import services as billing
from billing.models import AuthorizationState, SpendAuthorization
from generations import holds, services
from generations.models import Generation, Status
from tests.factories import UserFactory
from tests.generations.test_lifecycle import create, reload


@pytest.fixture(autouse=True)
def generous_trial(settings):
    settings.TRIAL_CREDIT_USD = Decimal(1000)


@pytest.fixture
def operator_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def hold_state(generation_id) -> str:
    return SpendAuthorization.objects.get(source_id=generation_id).state


def test_a_failed_job_releases_its_hold(organization, simulator):
    simulator.config.failure_rate = 1.0
    generation = create(organization)
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    assert reload(generation).status == Status.FAILED
    assert hold_state(generation.pk) == AuthorizationState.RELEASED


def test_a_job_refused_at_submission_releases_its_hold(organization, simulator):
    simulator.force_next(status_code=400, message="prompt violates policy")
    generation = create(organization)
    services.dispatch_pending()
    assert reload(generation).status == Status.FAILED
    assert hold_state(generation.pk) == AuthorizationState.RELEASED


def test_a_canceled_job_releases_its_hold(organization, simulator):
    generation = create(organization)
    assert hold_state(generation.pk) == AuthorizationState.HELD
    services.generation_cancel(generation=generation)
    assert hold_state(generation.pk) == AuthorizationState.RELEASED


def test_a_timed_out_job_releases_its_hold(organization, simulator):
    generation = create(organization)
    services.dispatch_pending()
    Generation.objects.filter(pk=generation.pk).update(deadline_at=timezone.now())
    assert services.fail_overdue() == 1
    assert hold_state(generation.pk) == AuthorizationState.RELEASED


def test_a_lost_submission_releases_its_hold(organization, simulator, settings):
    generation = create(organization)
    Generation.objects.filter(pk=generation.pk).update(
        status=Status.SUBMITTING, submitted_at=timezone.now() - timedelta(hours=1)
    )
    assert services.recover_stuck_submissions() == 1
    assert hold_state(generation.pk) == AuthorizationState.RELEASED


def test_a_released_hold_frees_the_spend_limit(organization, simulator):
    billing.billing_account_set_limit(organization=organization, monthly_spend_limit=Decimal("1.00"))
    generation = create(organization, duration="5", resolution="480p")  # $0.706 held
    with pytest.raises(billing.SpendLimitReached):
        create(organization, duration="5", resolution="480p")
    Generation.objects.filter(pk=generation.pk).delete()
    create(organization, duration="5", resolution="480p")  # the deleted job's hold no longer counts


def test_deleting_a_generation_in_the_admin_releases_its_hold(operator_client, organization, simulator):
    generation = create(organization)
    url = reverse("admin:generations_generation_delete", args=[generation.pk])
    response = operator_client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not Generation.objects.filter(pk=generation.pk).exists()
    authorization = SpendAuthorization.objects.get(source_id=generation.pk)
    assert authorization.state == AuthorizationState.RELEASED and authorization.reason == "deleted"


def test_the_admin_bulk_delete_action_releases_every_hold(operator_client, organization, simulator):
    generations = [create(organization), create(organization)]
    response = operator_client.post(
        reverse("admin:generations_generation_changelist"),
        {"action": "delete_selected", "_selected_action": [str(g.pk) for g in generations], "post": "yes"},
    )
    assert response.status_code == 302
    assert {hold_state(g.pk) for g in generations} == {AuthorizationState.RELEASED}


def test_a_queryset_delete_releases_the_holds(organization, simulator):
    generation = create(organization)
    Generation.objects.filter(organization=organization).delete()
    assert hold_state(generation.pk) == AuthorizationState.RELEASED


def test_deleting_a_succeeded_generation_keeps_its_settled_hold(organization, simulator):
    generation = create(organization)
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    assert reload(generation).status == Status.SUCCEEDED
    Generation.objects.filter(pk=generation.pk).delete()
    assert hold_state(generation.pk) == AuthorizationState.SETTLED


def test_the_sweeper_releases_holds_of_ended_and_vanished_jobs_only(organization, simulator):
    in_flight = create(organization)
    queued = create(organization)
    ended = create(organization)
    services.dispatch_pending(max_submissions=1)
    assert reload(in_flight).status == Status.PROCESSING
    # A job that ended by some path that forgot its hold (the kind of bug the sweeper exists for).
    Generation.objects.filter(pk=ended.pk).update(status=Status.FAILED)
    old_orphan, fresh_orphan = uuid.uuid4(), uuid.uuid4()
    for source_id in (old_orphan, fresh_orphan):
        SpendAuthorization.objects.create(
            organization=organization,
            source_id=source_id,
            resolution="480p",
            requested_duration="5",
            seconds=5,
            unit_price=Decimal("0.1412"),
            amount=Decimal("0.7060"),
        )
    SpendAuthorization.objects.filter(source_id=old_orphan).update(created_at=timezone.now() - timedelta(hours=1))

    assert holds.holds_sweep() == 2
    assert hold_state(ended.pk) == AuthorizationState.RELEASED
    assert SpendAuthorization.objects.get(source_id=ended.pk).reason == "swept: generation failed"
    assert hold_state(old_orphan) == AuthorizationState.RELEASED
    assert hold_state(fresh_orphan) == AuthorizationState.HELD
    assert hold_state(in_flight.pk) == AuthorizationState.HELD
    assert hold_state(queued.pk) == AuthorizationState.HELD
    assert holds.holds_sweep() == 0  # idempotent


def test_the_sweeper_runs_on_a_schedule():
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="generations: sweep spend holds")
    assert schedule.func == "generations.tasks.holds_sweep" and schedule.minutes == 10


def test_the_sweeper_releases_a_succeeded_jobs_unsettled_hold_and_says_so(organization, simulator, caplog):
    generation = create(organization)
    Generation.objects.filter(pk=generation.pk).update(status=Status.SUCCEEDED)  # a path that skipped billing
    assert holds.holds_sweep() == 1
    assert hold_state(generation.pk) == AuthorizationState.RELEASED
    assert any(r.levelname == "ERROR" and str(generation.pk) in r.getMessage() for r in caplog.records)
