"""`billing_reconcile`: the ledger against what Stripe holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db.models import Sum
from django.utils import timezone

from billing import prices
from billing.models import BillingAccount, ReportState, StripeMeter, UsageRecord
from billing.stripe.common import StripeUnavailable, list_all, stripe_client


@dataclass(frozen=True)
class Difference:
    organization: str
    meter: str
    ledger_seconds: int
    stripe_seconds: float

    def __str__(self) -> str:
        return (
            f"{self.organization} {self.meter}: ledger reported {self.ledger_seconds} s, "
            f"Stripe has {self.stripe_seconds:g} s (difference {self.ledger_seconds - self.stripe_seconds:+g} s)"
        )


def billing_reconcile(*, since: date, until: datetime | None = None) -> tuple[list[Difference], list[str]]:
    """Compare, per organization and meter, the seconds the ledger marked reported with Stripe's event summaries."""
    client = stripe_client()
    start = datetime.combine(since, datetime.min.time(), tzinfo=UTC)
    # Stripe wants minute-aligned bounds; the end is exclusive.
    until = until or timezone.now()
    end = until.replace(second=0, microsecond=0) + timedelta(minutes=1)
    meters = {m.resolution: m for m in StripeMeter.objects.all()}
    if len(meters) < len(prices.RESOLUTIONS):
        raise StripeUnavailable("Meters are not set up yet: run `python manage.py stripe_sync` first.")
    differences, notes = [], []
    accounts = BillingAccount.objects.exclude(stripe_customer_id="").select_related("organization")
    for account in accounts.order_by("organization__slug"):
        records = UsageRecord.objects.filter(organization=account.organization, completed_at__gte=start)
        records = records.filter(completed_at__lt=end)
        pending = records.filter(report_state=ReportState.PENDING).count()
        if pending:
            notes.append(f"{account.organization.slug}: {pending} record(s) not reported yet (the drain sends them)")
        for resolution, meter in meters.items():
            reported = records.filter(report_state=ReportState.REPORTED, resolution=resolution)
            ledger_seconds = reported.aggregate(s=Sum("seconds"))["s"] or 0
            summaries = list_all(
                lambda params, meter=meter: client.v1.billing.meters.event_summaries.list(
                    meter.stripe_meter_id, params
                ),
                {
                    "customer": account.stripe_customer_id,
                    "start_time": int(start.timestamp()),
                    "end_time": int(end.timestamp()),
                },
            )
            stripe_seconds = sum(float(s.aggregated_value) for s in summaries)
            if abs(stripe_seconds - ledger_seconds) > 1e-9:
                differences.append(
                    Difference(account.organization.slug, meter.event_name, ledger_seconds, stripe_seconds)
                )
    return differences, notes
