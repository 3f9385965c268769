"""Every rate the code holds, against the price list the README publishes, written out here by hand.

The rates live in two places (billing/prices.py and the migration that seeds the default plan); a typo in
either one must fail a test here.
"""

import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import prices, selectors, services
from billing.models import BillingAccount, Plan, Standing

# README, "Billing > Prices": the provider costs us, per second, 480p $0.1412, 720p $0.3024, 1080p $0.685.
PUBLISHED_PER_SECOND = {"480p": Decimal("0.1412"), "720p": Decimal("0.3024"), "1080p": Decimal("0.685")}
# The same list written out for 4, 10 and 15 seconds, so a wrong multiplication cannot hide behind a wrong rate.
PUBLISHED_CELLS = {
    ("480p", 4): Decimal("0.5648"),
    ("480p", 10): Decimal("1.4120"),
    ("480p", 15): Decimal("2.1180"),
    ("720p", 4): Decimal("1.2096"),
    ("720p", 10): Decimal("3.0240"),
    ("720p", 15): Decimal("4.5360"),
    ("1080p", 4): Decimal("2.7400"),
    ("1080p", 10): Decimal("6.8500"),
    ("1080p", 15): Decimal("10.2750"),
}


def test_the_provider_cost_table_is_the_published_one():
    assert prices.PROVIDER_COST_PER_SECOND == PUBLISHED_PER_SECOND
    assert prices.RESOLUTIONS == ("480p", "720p", "1080p")


def test_the_default_plan_seeded_by_the_migration_sells_at_the_published_rates():
    plan = Plan.objects.get(is_default=True)
    assert {res: plan.unit_price(res) for res in prices.RESOLUTIONS} == PUBLISHED_PER_SECOND
    assert selectors.price_list() == PUBLISHED_PER_SECOND


def test_a_default_plan_made_on_the_fly_sells_at_the_published_rates():
    """When no default plan exists (it was switched off), plan_default() builds one from prices.py."""
    Plan.objects.filter(is_default=True).update(is_default=False, slug="retired")
    plan = services.plan_default()
    assert plan.is_default and plan.slug == services.DEFAULT_PLAN_SLUG and plan.name == "Standard"
    assert {res: plan.unit_price(res) for res in prices.RESOLUTIONS} == PUBLISHED_PER_SECOND


@pytest.mark.parametrize(("resolution", "seconds"), sorted(PUBLISHED_CELLS))
def test_provider_cost_cells(resolution, seconds):
    assert prices.provider_cost(resolution=resolution, seconds=seconds) == PUBLISHED_CELLS[resolution, seconds]


@pytest.mark.parametrize(("resolution", "seconds"), sorted(PUBLISHED_CELLS))
def test_a_settled_job_records_the_published_price_and_cost(organization, resolution, seconds):
    BillingAccount.objects.filter(organization=organization).update(standing=Standing.ACTIVE)
    authorization = services.spend_authorize(
        organization=organization, end_user=None, source_id=uuid.uuid4(), resolution=resolution, duration=seconds
    )
    assert authorization.amount == PUBLISHED_CELLS[resolution, seconds]
    record = services.usage_record_create(
        source_id=authorization.source_id, measured_seconds=None, completed_at=timezone.now()
    )
    expected = PUBLISHED_CELLS[resolution, seconds]
    assert (record.unit_price, record.amount, record.provider_cost) == (
        PUBLISHED_PER_SECOND[resolution],
        expected,
        expected,
    )


def test_stripe_prices_are_the_published_rates_in_cents():
    cents = {res: prices.stripe_unit_amount_decimal(rate) for res, rate in PUBLISHED_PER_SECOND.items()}
    assert cents == {"480p": "14.12", "720p": "30.24", "1080p": "68.5"}
    assert prices.stripe_unit_amount_decimal(Decimal("0.0000001")) == "0.00001"
    assert prices.stripe_unit_amount_decimal(Decimal("2")) == "200"
