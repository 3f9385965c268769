"""`billing_reconcile`: the ledger against Stripe, in seconds per meter and in money per invoice.

Every difference is listed and makes the command exit 1, whichever side has more:
- seconds per organization and meter: usage the ledger marked reported (less meter events a refund canceled)
  against Stripe's meter event summaries;
- usage Stripe does not have: records still pending past a grace period, refused (failed) or rejected
  afterwards by a meter error report;
- money per invoice, to the cent: each finalized invoice and the upcoming one against the ledger's invoice for
  the same usage period (lines rounded as Stripe rounds them, refunds netted as cancellations or credit notes);
- usage no invoice will ever bill: no subscription, a paused one, or completed outside every invoice period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from billing import prices, selectors
from billing.models import BillingAccount, ReportState, StripeAdjustment, StripeMeter, UsageKind, UsageRecord
from billing.stripe.common import StripeUnavailable, list_all, stripe_client
from billing.stripe.reconcile_invoices import invoice_differences

DEFAULT_GRACE = timedelta(minutes=15)


@dataclass(frozen=True)
class Difference:
    organization: str
    subject: str  # a meter, an invoice, or a kind of usage
    ledger: str
    stripe: str
    detail: str = ""

    def __str__(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.organization} {self.subject}: ledger {self.ledger}, Stripe {self.stripe}{detail}"


def billing_reconcile(
    *, since: date, until: datetime | None = None, grace: timedelta = DEFAULT_GRACE
) -> tuple[list[Difference], list[str]]:
    """Compare the ledger with Stripe for usage completed since `since` (UTC); returns (differences, notes)."""
    client = stripe_client()
    start = datetime.combine(since, datetime.min.time(), tzinfo=UTC)
    # Stripe wants minute-aligned bounds; the end is exclusive.
    now = timezone.now()
    until = until or now
    end = until.replace(second=0, microsecond=0) + timedelta(minutes=1)
    meters = {m.resolution: m for m in StripeMeter.objects.all()}
    if len(meters) < len(prices.RESOLUTIONS):
        raise StripeUnavailable("Meters are not set up yet: run `python manage.py stripe_sync` first.")
    differences: list[Difference] = []
    notes: list[str] = []
    billable = UsageRecord.objects.filter(
        kind=UsageKind.USAGE, covered_by_trial=False, completed_at__gte=start, completed_at__lt=end
    )
    with_usage = billable.values("organization_id")
    accounts = BillingAccount.objects.exclude(stripe_customer_id="") | BillingAccount.objects.filter(
        organization_id__in=with_usage
    )
    for account in accounts.select_related("organization").order_by("organization__slug"):
        slug = account.organization.slug
        records = billable.filter(organization=account.organization)
        differences += _unreported(slug, records, now=now, grace=grace, notes=notes)
        if account.stripe_customer_id:
            differences += _seconds(client, account, meters, records, start, end)
        money, covered_ids = invoice_differences(client, account, start=start, end=end)
        differences += [Difference(slug, *difference) for difference in money]
        differences += _uninvoiceable(slug, account, records.exclude(pk__in=covered_ids))
    return differences, notes


def _unreported(slug: str, records, *, now: datetime, grace: timedelta, notes: list[str]) -> list[Difference]:
    differences = []
    pending = records.filter(report_state=ReportState.PENDING)
    recent = pending.filter(completed_at__gte=now - grace).count()
    if recent:
        notes.append(f"{slug}: {recent} record(s) of the last {grace} not reported yet (the drain sends them)")
    stuck = {
        "pending": pending.filter(completed_at__lt=now - grace),
        "failed": records.filter(report_state=ReportState.FAILED),
        "rejected": records.filter(report_state=ReportState.REJECTED),
    }
    for state, queryset in stuck.items():
        totals = queryset.aggregate(s=Sum("seconds"), a=Sum("amount"))
        if totals["s"]:
            differences.append(
                Difference(
                    slug,
                    f"usage {state}",
                    f"billed {totals['s']} s (${prices.money_display(totals['a'])})",
                    "has none of it",
                    f"{queryset.count()} record(s); admin: Usage records, report state {state}",
                )
            )
    return differences


def _seconds(client, account, meters, records, start: datetime, end: datetime) -> list[Difference]:
    differences = []
    canceled = UsageRecord.objects.filter(
        kind=UsageKind.REFUND, stripe_adjustment=StripeAdjustment.CANCELED, adjusts__in=records
    ).values("adjusts_id")
    reported = records.filter(report_state=ReportState.REPORTED).exclude(pk__in=canceled)
    for resolution, meter in meters.items():
        ledger_seconds = reported.filter(resolution=resolution).aggregate(s=Sum("seconds"))["s"] or 0
        summaries = list_all(
            lambda params, meter=meter: client.v1.billing.meters.event_summaries.list(meter.stripe_meter_id, params),
            {
                "customer": account.stripe_customer_id,
                "start_time": int(start.timestamp()),
                "end_time": int(end.timestamp()),
            },
        )
        stripe_seconds = sum((Decimal(str(s.aggregated_value)) for s in summaries), Decimal(0))
        if stripe_seconds != ledger_seconds:
            differences.append(
                Difference(
                    account.organization.slug,
                    meter.event_name,
                    f"reported {ledger_seconds} s",
                    f"has {stripe_seconds.normalize():f} s",
                    f"difference {(ledger_seconds - stripe_seconds).normalize():+f} s",
                )
            )
    return differences


def _uninvoiceable(slug: str, account: BillingAccount, records) -> list[Difference]:
    """Billed usage outside every invoice period Stripe has or will have: nobody pays for it."""
    records = records.filter(report_state__in=selectors.BILLABLE_STATES)
    totals = records.aggregate(s=Sum("seconds"), a=Sum("amount"))
    if not totals["s"]:
        return []
    why = "no Stripe subscription" if not account.stripe_subscription_id else "outside every invoice period"
    if account.subscription_status == "paused":
        why = "the subscription is paused"
    return [
        Difference(
            slug,
            "usage no invoice bills",
            f"billed {totals['s']} s (${prices.money_display(totals['a'])})",
            "will never invoice it",
            f"{records.count()} record(s); {why}",
        )
    ]
