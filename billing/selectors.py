"""Every billing read, scoped to one organization: prices, spend against limits, usage summaries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.db.models.query import QuerySet

from accounts.models import Organization
from billing import periods, prices, services
from billing.accounts import INVOICED_SUBSCRIPTION_STATUSES
from billing.models import (
    AuthorizationState,
    BillingAccount,
    ReportState,
    SpendAuthorization,
    Standing,
    StripeAdjustment,
    TrialStatus,
    UsageKind,
    UsageRecord,
)

GROUP_BY = ("resolution", "end_user", "day")


def price_list(*, organization: Organization | None = None) -> dict[str, Decimal]:
    """Per-second sell price per resolution: the organization's plan, or the public default plan."""
    plan = services.billing_account_get(organization=organization).plan if organization else services.plan_default()
    return {resolution: plan.unit_price(resolution) for resolution in prices.RESOLUTIONS}


def billing_account(*, organization: Organization) -> BillingAccount:
    return services.billing_account_get(organization=organization)


@dataclass(frozen=True)
class SpendSummary:
    standing: str
    period_start: date
    period_end: date
    spent: Decimal
    authorized: Decimal
    limit: Decimal | None
    remaining: Decimal | None
    trial_credit: Decimal
    trial_credit_left: Decimal
    trial_status: str
    stripe_configured: bool
    currency: str = prices.CURRENCY


def spend_summary(*, organization: Organization, start: date | None = None, end: date | None = None) -> SpendSummary:
    """Spent in the period (this calendar month by default), authorized in flight, the limit and the trial left."""
    account = services.billing_account_get(organization=organization)
    start = start or services.period_start()
    end = end or periods.next_month(start)
    spent = services.amount_total(
        UsageRecord.objects.filter(organization=organization, period__gte=start, period__lt=end)
    )
    authorized = services.amount_total(
        SpendAuthorization.objects.filter(organization=organization, state=AuthorizationState.HELD)
    )
    limit = account.monthly_spend_limit
    return SpendSummary(
        standing=account.standing,
        period_start=start,
        period_end=end,
        spent=spent,
        authorized=authorized,
        limit=limit,
        remaining=None if limit is None else max(limit - spent - authorized, Decimal("0")),
        trial_credit=account.trial_credit,
        trial_credit_left=max(account.trial_credit - services.trial_committed(organization=organization), Decimal(0))
        if account.trial_status == TrialStatus.GRANTED
        else Decimal(0),
        trial_status=account.trial_status,
        stripe_configured=services.stripe_configured(),
    )


@dataclass(frozen=True)
class UsageSummary:
    start: datetime
    end: datetime
    group_by: str
    seconds: int
    amount: Decimal
    count: int
    groups: list[dict] = field(default_factory=list)
    currency: str = prices.CURRENCY


def _as_datetime(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time.min, tzinfo=UTC)


def usage_record_list(
    *, organization: Organization, start: date | datetime | None = None, end: date | datetime | None = None
) -> QuerySet[UsageRecord]:
    """The ledger of one organization, newest first; `end` is exclusive."""
    records = UsageRecord.objects.filter(organization=organization).select_related("end_user")
    if start is not None:
        records = records.filter(completed_at__gte=_as_datetime(start))
    if end is not None:
        records = records.filter(completed_at__lt=_as_datetime(end))
    return records.order_by("-completed_at")


def usage_records_of_end_user(*, organization: Organization, end_user) -> QuerySet[UsageRecord]:
    """One end user's ledger rows (usage, and refunds of it), oldest first: what a privacy export shows."""
    return (
        UsageRecord.objects.filter(organization=organization)
        .filter(Q(end_user=end_user) | Q(adjusts__end_user=end_user))
        .select_related("adjusts")
        .order_by("completed_at", "id")
    )


# One ledger row as the CSV export reads it; a refund names the generation through the record it adjusts.
USAGE_EXPORT_FIELDS = (
    "completed_at",
    "kind",
    "source_id",
    "adjusts__source_id",
    "end_user__external_id",
    "resolution",
    "seconds",
    "unit_price",
    "amount",
)


def usage_export_records(*, organization: Organization, start: date | datetime, end: date | datetime) -> QuerySet:
    """The rows `usage_summary` adds up for [start, end), oldest first, as tuples of USAGE_EXPORT_FIELDS."""
    records = usage_record_list(organization=organization, start=start, end=end)
    return records.order_by("completed_at", "id").values_list(*USAGE_EXPORT_FIELDS)


def usage_summary(
    *, organization: Organization, start: date | datetime, end: date | datetime, group_by: str
) -> UsageSummary:
    """Totals and groups (by resolution, end user or UTC day) of the ledger in [start, end); refunds net out."""
    if group_by not in GROUP_BY:
        from seedance_saas.errors import InvalidInput

        raise InvalidInput(f"group_by must be one of {', '.join(GROUP_BY)}.", fields={"group_by": list(GROUP_BY)})
    start, end = _as_datetime(start), _as_datetime(end)
    records = usage_record_list(organization=organization, start=start, end=end).order_by()
    key = {"resolution": "resolution", "end_user": "end_user__external_id", "day": "day"}[group_by]
    if group_by == "day":
        records = records.annotate(day=TruncDate("completed_at", tzinfo=UTC))
    rows = records.values(key).annotate(seconds=Sum("seconds"), amount=Sum("amount"), count=Count("id")).order_by(key)
    groups = [
        {"key": row[key], "seconds": row["seconds"], "amount": row["amount"], "count": row["count"]} for row in rows
    ]
    return UsageSummary(
        start=start,
        end=end,
        group_by=group_by,
        seconds=sum(g["seconds"] for g in groups),
        amount=sum((g["amount"] for g in groups), Decimal("0")),
        count=sum(g["count"] for g in groups),
        groups=groups,
    )


def spend_authorizations_held() -> QuerySet[SpendAuthorization]:
    """Operator upkeep across tenants: every hold still open, oldest first (the hold sweeper reads it)."""
    return SpendAuthorization.objects.filter(state=AuthorizationState.HELD).order_by("created_at")


def billing_accounts_not_invoiced() -> QuerySet[BillingAccount]:
    """Operator view across tenants: active accounts whose usage no Stripe subscription invoices."""
    invoiced = Q(subscription_status__in=INVOICED_SUBSCRIPTION_STATUSES) & ~Q(stripe_subscription_id="")
    return BillingAccount.objects.filter(standing=Standing.ACTIVE).exclude(invoiced)


def rejected_usage() -> QuerySet[UsageRecord]:
    """Operator view across tenants: usage Stripe rejected after accepting it (meter error reports)."""
    return UsageRecord.objects.filter(report_state=ReportState.REJECTED)


def unreported_usage(*, limit: int | None = None) -> QuerySet[UsageRecord]:
    """Operator view across tenants: usage still owed to Stripe."""
    records = UsageRecord.objects.filter(report_state=ReportState.PENDING).order_by("completed_at")
    return records[:limit] if limit else records


# --- invoices as Stripe will draw them ----------------------------------------------------------------

# Usage the customer owes: sent or about to be sent (the preview), or also refused by Stripe (reconcile).
INVOICE_PREVIEW_STATES = (ReportState.PENDING, ReportState.REPORTED)
BILLABLE_STATES = (ReportState.PENDING, ReportState.REPORTED, ReportState.FAILED, ReportState.REJECTED)


@dataclass(frozen=True)
class InvoiceLine:
    resolution: str
    unit_price: Decimal
    seconds: int
    amount: Decimal  # rounded to the cent, as Stripe rounds the line


@dataclass(frozen=True)
class LedgerInvoice:
    start: datetime
    end: datetime
    lines: list[InvoiceLine]
    credits: list[Decimal]  # one per refund credited on the invoice, each in whole cents
    record_ids: list = field(default_factory=list)
    currency: str = prices.CURRENCY

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def credit_total(self) -> Decimal:
        return sum(self.credits, Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        return prices.invoice_total(line_amounts=[line.amount for line in self.lines], credits=self.credits)


def ledger_invoice(
    *, organization: Organization, start: datetime, end: datetime, states=INVOICE_PREVIEW_STATES
) -> LedgerInvoice:
    """The invoice the ledger expects for usage completed in [start, end): one line per resolution and rate,
    each rounded once (prices.invoice_line_amount), less a whole-cent credit per refund Stripe must credit.
    Trial usage is never invoiced; usage whose meter event a refund canceled never reaches the invoice."""
    usage = UsageRecord.objects.filter(
        organization=organization,
        kind=UsageKind.USAGE,
        covered_by_trial=False,
        report_state__in=states,
        completed_at__gte=start,
        completed_at__lt=end,
    )
    refunds = UsageRecord.objects.filter(kind=UsageKind.REFUND, adjusts__in=usage)
    canceled = refunds.filter(stripe_adjustment=StripeAdjustment.CANCELED).values("adjusts_id")
    invoiced = usage.exclude(pk__in=canceled)
    rows = (
        invoiced.order_by()
        .values("resolution", "unit_price")
        .annotate(seconds=Sum("seconds"))
        .order_by("resolution", "unit_price")
    )
    lines = [
        InvoiceLine(
            resolution=row["resolution"],
            unit_price=row["unit_price"],
            seconds=row["seconds"],
            amount=prices.invoice_line_amount(unit_price=row["unit_price"], seconds=row["seconds"]),
        )
        for row in rows
    ]
    credits = [
        prices.credit_amount(amount)
        for amount in refunds.exclude(stripe_adjustment=StripeAdjustment.CANCELED).values_list("amount", flat=True)
    ]
    # Every usage record of the period, canceled ones included: the period accounts for all of them.
    record_ids = list(usage.values_list("pk", flat=True))
    return LedgerInvoice(start=start, end=end, lines=lines, credits=credits, record_ids=record_ids)


def invoice_preview(*, organization: Organization, start: date | None = None) -> LedgerInvoice:
    """This month's upcoming invoice (UTC calendar month, the subscription's period): what Stripe will bill."""
    start = start or services.period_start()
    return ledger_invoice(
        organization=organization, start=_as_datetime(start), end=_as_datetime(periods.next_month(start))
    )


@dataclass(frozen=True)
class DispatchShare:
    """An organization's plan terms for sharing a provider key: its weight and the most of the slots it may hold."""

    weight: int = 1
    max_key_share: int = 100  # percent


def dispatch_shares(*, organization_ids) -> dict[int, DispatchShare]:
    """Each organization's dispatch weight and slot cap, from its plan (the default plan's when it has no account)."""
    ids = set(organization_ids)
    if not ids:
        return {}
    rows = BillingAccount.objects.filter(organization_id__in=ids).values_list(
        "organization_id", "plan__dispatch_weight", "plan__max_key_share"
    )
    shares = {org_id: DispatchShare(weight=weight, max_key_share=cap) for org_id, weight, cap in rows}
    missing = ids - shares.keys()
    if missing:
        default = services.plan_default()
        fallback = DispatchShare(weight=default.dispatch_weight, max_key_share=default.max_key_share)
        shares.update(dict.fromkeys(missing, fallback))
    return shares
