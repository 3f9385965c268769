"""Operator read across tenants: revenue from the ledger against the provider's cost, per billing month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, Sum

from billing.models import ProviderCharge, ProviderChargeBasis, UsageRecord

ZERO = Decimal("0")


@dataclass(frozen=True)
class MonthMargin:
    period: date
    revenue: Decimal  # invoiced usage net of refunds (the trial credit is not revenue)
    trial_usage: Decimal  # usage the trial credit paid for
    provider_cost: Decimal  # every job the provider bills or may bill
    unbilled_cost: Decimal  # of which jobs no customer paid for (failed after the provider ran, outcome unknown)
    estimated_cost: Decimal  # of which `auto` jobs costed at their 15 s maximum

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.provider_cost

    @property
    def margin_percent(self) -> Decimal | None:
        if self.revenue <= 0:
            return None
        return (self.margin * 100 / self.revenue).quantize(Decimal("0.1"))


def margin_by_month(*, months: int = 12) -> list[MonthMargin]:
    """The last `months` billing months with any usage or provider cost, newest first."""
    revenue = dict(
        UsageRecord.objects.filter(covered_by_trial=False)
        .values("period")
        .annotate(total=Sum("amount"))
        .values_list("period", "total")
    )
    trial = dict(
        UsageRecord.objects.filter(covered_by_trial=True)
        .values("period")
        .annotate(total=Sum("amount"))
        .values_list("period", "total")
    )
    costs = {
        row["period"]: row
        for row in ProviderCharge.objects.values("period").annotate(
            total=Sum("amount"),
            unbilled=Sum("amount", filter=~Q(basis=ProviderChargeBasis.DELIVERED)),
            estimated=Sum("amount", filter=Q(estimated=True)),
        )
    }
    periods = sorted(set(revenue) | set(trial) | set(costs), reverse=True)[:months]
    return [
        MonthMargin(
            period=period,
            revenue=revenue.get(period) or ZERO,
            trial_usage=trial.get(period) or ZERO,
            provider_cost=costs.get(period, {}).get("total") or ZERO,
            unbilled_cost=costs.get(period, {}).get("unbilled") or ZERO,
            estimated_cost=costs.get(period, {}).get("estimated") or ZERO,
        )
        for period in periods
    ]
