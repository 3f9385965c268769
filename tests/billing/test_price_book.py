"""One source of truth for list rates: the price book, the seeded plan and the published table all agree."""

from __future__ import annotations

import importlib
import re
from decimal import Decimal
from pathlib import Path

import pytest

from billing import prices
from billing.models import Plan

README = Path(__file__).resolve().parents[2] / "README.md"


def published_rates() -> dict[str, Decimal]:
    """The list-rate table in the README's Billing section, read as an operator reads it."""
    text = README.read_text()
    table = text.split("| resolution | USD per second |", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| (\d+p) \| ([0-9.]+) \|$", table, flags=re.MULTILINE)
    return {resolution: Decimal(rate) for resolution, rate in rows}


def test_the_readme_publishes_a_rate_for_every_resolution():
    assert published_rates() == {"480p": Decimal("0.1412"), "720p": Decimal("0.3024"), "1080p": Decimal("0.685")}


def test_the_price_book_has_the_published_rates():
    assert published_rates() == prices.PROVIDER_COST_PER_SECOND


def test_the_seed_migration_takes_its_rates_from_the_price_book():
    migration = importlib.import_module("billing.migrations.0002_default_plan_accounts_schedule")
    assert {f"price_{res}": rate for res, rate in published_rates().items()} == migration.LIST_RATES


def test_the_seeded_default_plan_sells_at_the_published_rates():
    plan = Plan.objects.get(is_default=True)
    assert {res: plan.unit_price(res) for res in prices.RESOLUTIONS} == published_rates()


@pytest.mark.parametrize("resolution", ["480p", "720p", "1080p"])
def test_provider_cost_is_the_published_rate_times_seconds(resolution):
    rate = published_rates()[resolution]
    assert prices.provider_cost(resolution=resolution, seconds=7) == (rate * 7).quantize(Decimal("0.0001"))
