"""Provider cost is recorded for every job the provider bills or may bill, and the admin shows the margin per month."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from billing import margin
from billing import services as billing
from billing.models import ProviderCharge, ProviderChargeBasis, UsageRecord
from generations import services
from generations.models import Generation, Status
from tests.generations.test_lifecycle import create, make_poll_due, reload

RATE_480P = Decimal("0.1412")


@pytest.fixture(autouse=True)
def generous_trial(settings):
    settings.TRIAL_CREDIT_USD = Decimal(1000)


def charge(generation) -> ProviderCharge | None:
    return ProviderCharge.objects.filter(source_id=generation.pk).first()


def test_a_delivered_video_costs_its_billed_seconds(organization, simulator):
    generation = create(organization, duration="5")
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    assert reload(generation).status == Status.SUCCEEDED
    cost = charge(generation)
    assert (cost.basis, cost.seconds, cost.amount, cost.estimated) == (
        ProviderChargeBasis.DELIVERED,
        5,
        RATE_480P * 5,
        False,
    )
    assert cost.amount == UsageRecord.objects.get(source_id=generation.pk).provider_cost


def test_a_timed_out_job_may_still_be_billed(organization, simulator):
    generation = create(organization, duration="7")
    services.dispatch_pending()
    Generation.objects.filter(pk=generation.pk).update(deadline_at=timezone.now())
    services.fail_overdue()
    cost = charge(generation)
    assert (cost.basis, cost.seconds, cost.amount) == (ProviderChargeBasis.OUTCOME_UNKNOWN, 7, RATE_480P * 7)
    assert not UsageRecord.objects.filter(source_id=generation.pk).exists()  # the customer pays nothing


def test_an_auto_job_we_never_saw_is_costed_at_its_maximum_and_marked_estimated(organization, simulator):
    generation = create(organization, duration="auto")
    services.dispatch_pending()
    Generation.objects.filter(pk=generation.pk).update(deadline_at=timezone.now())
    services.fail_overdue()
    cost = charge(generation)
    assert cost.seconds == 15 and cost.estimated and cost.amount == RATE_480P * 15


def test_a_lost_submission_may_be_billed(organization, simulator):
    generation = create(organization, duration="5")
    Generation.objects.filter(pk=generation.pk).update(
        status=Status.SUBMITTING, submitted_at=timezone.now() - timedelta(hours=1)
    )
    services.recover_stuck_submissions()
    assert charge(generation).basis == ProviderChargeBasis.OUTCOME_UNKNOWN


def test_a_finished_video_whose_link_expired_is_billed(organization, simulator):
    simulator.config.webhooks_enabled = False
    simulator.config.output_retention_s = 10
    generation = create(organization, duration="5")
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 60)
    make_poll_due()
    services.poll_due()
    assert reload(generation).error_code == "output_expired"
    assert charge(generation).basis == ProviderChargeBasis.OUTPUT_LOST


def test_a_job_deleted_at_the_provider_may_be_billed_and_a_queued_one_not(organization, simulator):
    in_flight, queued = create(organization), create(organization)
    services.dispatch_pending(max_submissions=1)
    Generation.objects.filter(pk__in=[in_flight.pk, queued.pk]).delete()
    assert charge(in_flight).basis == ProviderChargeBasis.OUTCOME_UNKNOWN
    assert charge(queued) is None


def test_jobs_the_provider_refused_or_failed_cost_nothing(organization, simulator):
    simulator.force_next(status_code=400, message="bad prompt")
    refused = create(organization)
    services.dispatch_pending()
    simulator.config.failure_rate = 1.0
    failed = create(organization)
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    assert reload(refused).status == reload(failed).status == Status.FAILED
    assert charge(refused) is None and charge(failed) is None


def test_margin_per_month_in_the_admin(client, organization, simulator):
    account = billing.billing_account_get(organization=organization)
    type(account).objects.filter(pk=account.pk).update(standing="active")  # paying: revenue, not trial usage
    delivered = create(organization, duration="10")
    timed_out = create(organization, duration="5")
    services.dispatch_pending()
    Generation.objects.filter(pk=timed_out.pk).update(deadline_at=timezone.now())
    services.fail_overdue()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    assert reload(delivered).status == Status.SUCCEEDED

    [month] = margin.margin_by_month()
    assert month.period == billing.period_start()
    assert month.revenue == RATE_480P * 10  # the default plan sells at list: the timed-out job eats the margin
    assert month.provider_cost == RATE_480P * 15 and month.unbilled_cost == RATE_480P * 5
    assert month.margin == -RATE_480P * 5 and month.margin_percent == Decimal("-50.0")

    client.force_login(User.objects.create_superuser(email="ops@example.com", password="pw-ops-12345"))
    page = client.get(reverse("admin:billing_margin")).content.decode()
    assert f'data-month="{month.period:%Y-%m}"' in page
    assert f"${RATE_480P * 10}" in page and f"${RATE_480P * 15}" in page and "-50.0%" in page
    assert reverse("admin:billing_margin") in client.get(reverse("admin:index")).content.decode()
    assert client.get(reverse("admin:billing_providercharge_changelist")).status_code == 200


def test_a_job_the_provider_forgot_may_have_been_billed(organization, simulator):
    generation = create(organization, duration="6")
    services.dispatch_pending()
    simulator.force_next(status_code=404, message="prediction not found", method="GET")
    services.generation_refresh(generation_id=generation.pk)
    assert reload(generation).error_code == "provider_not_found"
    cost = charge(generation)
    assert (cost.basis, cost.seconds) == (ProviderChargeBasis.OUTCOME_UNKNOWN, 6)


def test_a_month_without_revenue_has_no_margin_percent(organization, simulator):
    generation = create(organization, duration="5")  # trial usage: not revenue
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    [month] = margin.margin_by_month()
    assert month.revenue == 0 and month.trial_usage == reload(generation).cost == RATE_480P * 5
    assert month.margin == -RATE_480P * 5 and month.margin_percent is None


def test_the_migration_backfills_delivered_charges_from_earlier_usage(organization, simulator):
    import importlib

    from django.apps import apps

    generation = create(organization, duration="5")
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    record = UsageRecord.objects.get(source_id=generation.pk)
    ProviderCharge.objects.all().delete()  # as before the migration
    migration = importlib.import_module("billing.migrations.0005_audit_provider_charges")
    migration.backfill_delivered_charges(apps, None)
    migration.backfill_delivered_charges(apps, None)  # rerunnable
    cost = ProviderCharge.objects.get()
    assert (cost.source_id, cost.amount, cost.period, cost.basis) == (
        generation.pk,
        record.provider_cost,
        record.period,
        ProviderChargeBasis.DELIVERED,
    )


def test_the_margin_view_needs_the_permission_to_view_provider_charges(client, organization):
    """Every tenant's revenue and cost: staff without billing permissions get 403, as on the changelist."""
    from django.contrib.auth.models import Permission

    staff = User.objects.create_user(email="support@example.com", password="x", is_staff=True)
    client.force_login(staff)
    assert client.get(reverse("admin:billing_providercharge_changelist")).status_code == 403
    assert client.get(reverse("admin:billing_margin")).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_providercharge"))
    assert client.get(reverse("admin:billing_margin")).status_code == 200
