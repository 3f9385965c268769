"""Every billing write: accounts, quotes, spend authorizations, the usage ledger and refunds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from accounts.models import EndUser, Organization
from billing import prices, provider_costs
from billing.models import (
    AuthorizationState,
    BillingAccount,
    Plan,
    ProviderChargeBasis,
    ReportState,
    SpendAuthorization,
    Standing,
    StripeAdjustment,
    TrialStatus,
    UsageKind,
    UsageRecord,
)
from billing.periods import next_period_start, period_start  # noqa: F401  (callers use services.*)
from billing.queue import enqueue
from seedance_saas.errors import Conflict, InvalidInput, NotFound, PaymentRequired

DEFAULT_PLAN_SLUG = "standard"


class SpendLimitReached(PaymentRequired):
    code = "spend_limit_reached"


class EndUserLimitReached(PaymentRequired):
    code = "end_user_limit_reached"


class TrialExhausted(PaymentRequired):
    code = "trial_exhausted"


class TrialLocked(PaymentRequired):
    code = "trial_locked"


class TrialAlreadyUsed(PaymentRequired):
    code = "trial_already_used"


class StandingRefused(PaymentRequired):
    code = "payment_required"


class EndUserBlocked(PaymentRequired):
    code = "end_user_blocked"


@dataclass(frozen=True)
class Quote:
    resolution: str
    min_seconds: int
    max_seconds: int
    unit_price: Decimal
    min_amount: Decimal
    max_amount: Decimal
    authorized_amount: Decimal
    currency: str = prices.CURRENCY


def stripe_configured() -> bool:
    return bool(settings.STRIPE_API_KEY)


# --- plans and accounts ----------------------------------------------------------


def plan_default() -> Plan:
    """The default plan; a fresh install gets one that sells at the provider's list rates."""
    plan = Plan.objects.filter(is_default=True).first()
    if plan is None:
        list_rates = {f"price_{res}": rate for res, rate in prices.PROVIDER_COST_PER_SECOND.items()}
        plan, _ = Plan.objects.get_or_create(
            slug=DEFAULT_PLAN_SLUG, defaults={"name": "Standard", "is_default": True, **list_rates}
        )
    return plan


def billing_account_create(*, organization: Organization, trial_awaits_verification: bool = False) -> BillingAccount:
    """A new organization starts on the trial credit and the default plan. Idempotent.

    `trial_awaits_verification` (self-service sign-ups): the credit unlocks when the owner verifies an email
    address that never had a trial (`trial_services.trial_unlock`).
    """
    trial_status = TrialStatus.AWAITING_VERIFICATION if trial_awaits_verification else TrialStatus.GRANTED
    account, _ = BillingAccount.objects.get_or_create(
        organization=organization,
        defaults={
            "plan": plan_default(),
            "standing": Standing.TRIAL,
            "trial_credit": settings.TRIAL_CREDIT_USD,
            "trial_status": trial_status,
        },
    )
    if stripe_configured() and not account.stripe_customer_id:
        transaction.on_commit(lambda: enqueue("billing.tasks.stripe_customer_create", organization.pk))
    return account


def billing_account_get(*, organization: Organization, lock: bool = False) -> BillingAccount:
    queryset = BillingAccount.objects.select_related("plan")
    if lock:
        queryset = queryset.select_for_update()
    account = queryset.filter(organization=organization).first()
    if account is None:  # an organization from before billing existed
        billing_account_create(organization=organization)
        account = queryset.get(organization=organization)
    return account


def billing_account_set_limit(*, organization: Organization, monthly_spend_limit: Decimal | None) -> BillingAccount:
    """Owners and admins cap the organization's spend per calendar month (None = no cap)."""
    if monthly_spend_limit is not None:
        monthly_spend_limit = prices.money(monthly_spend_limit)
        if monthly_spend_limit < 0:
            raise InvalidInput("A spend limit cannot be negative.", fields={"monthly_spend_limit": ["Use 0 or more."]})
    with transaction.atomic():
        account = billing_account_get(organization=organization, lock=True)
        account.monthly_spend_limit = monthly_spend_limit
        account.save(update_fields=["monthly_spend_limit", "updated_at"])
    return account


def billing_account_change_plan(*, organization: Organization, plan: Plan) -> BillingAccount:
    """Move an organization to another plan: new jobs are quoted at its prices at once, and its Stripe
    subscription items move to the plan's prices after commit (so the next invoice charges the same)."""
    with transaction.atomic():
        account = billing_account_get(organization=organization, lock=True)
        if account.plan_id == plan.pk:
            return account
        subscribed = stripe_configured() and bool(account.stripe_subscription_id)
        if subscribed and not all((plan.stripe_price_ids or {}).get(r) for r in prices.RESOLUTIONS):
            # Its items could not move: the ledger would charge this plan while Stripe invoices the old one.
            raise Conflict(
                f"Plan {plan.slug!r} has no Stripe prices yet: run `python manage.py stripe_sync`, then change "
                "the plan again.",
                code="plan_not_synced",
            )
        account.plan = plan
        account.save(update_fields=["plan", "updated_at"])
        if subscribed:
            transaction.on_commit(lambda: enqueue("billing.tasks.subscription_items_sync", organization.pk))
    return account


# --- quotes and authorizations ---------------------------------------------------------


def quote(*, organization: Organization | None, resolution: str | None, duration: int | str | None) -> Quote:
    """The price before creation: exact for a fixed duration, a range for "auto" (authorized at the maximum)."""
    resolution = prices.resolution_normalize(resolution)
    min_seconds, max_seconds = prices.seconds_range(duration)
    plan = billing_account_get(organization=organization).plan if organization is not None else plan_default()
    unit_price = plan.unit_price(resolution)
    max_amount = prices.amount(unit_price=unit_price, seconds=max_seconds)
    return Quote(
        resolution=resolution,
        min_seconds=min_seconds,
        max_seconds=max_seconds,
        unit_price=unit_price,
        min_amount=prices.amount(unit_price=unit_price, seconds=min_seconds),
        max_amount=max_amount,
        authorized_amount=max_amount,
    )


def amount_total(queryset) -> Decimal:
    """The sum of `amount` over a queryset of usage records or authorizations (0 when empty)."""
    return queryset.aggregate(total=Sum("amount"))["total"] or Decimal("0")


def _committed(*, organization: Organization, end_user: EndUser | None = None) -> Decimal:
    """Spent this month plus authorized and still in flight."""
    records = UsageRecord.objects.filter(organization=organization, period=period_start())
    held = SpendAuthorization.objects.filter(organization=organization, state=AuthorizationState.HELD)
    if end_user is not None:
        records, held = records.filter(end_user=end_user), held.filter(end_user=end_user)
    return amount_total(records) + amount_total(held)


def trial_committed(*, organization: Organization) -> Decimal:
    """What the trial credit has paid or holds for jobs in flight."""
    spent = UsageRecord.objects.filter(organization=organization, covered_by_trial=True)
    held = SpendAuthorization.objects.filter(
        organization=organization, covered_by_trial=True, state=AuthorizationState.HELD
    )
    return amount_total(spent) + amount_total(held)


def _check_standing(*, account: BillingAccount, amount: Decimal) -> bool:
    """Raises when the standing refuses this spend; returns whether the trial credit pays for it."""
    if account.standing == Standing.ACTIVE:
        return False
    if account.standing == Standing.TRIAL:
        credit = f"{prices.money_display(account.trial_credit).normalize():f}"  # 5, 2.5
        if account.trial_status == TrialStatus.AWAITING_VERIFICATION:
            raise TrialLocked(
                f"Verify your email to unlock your ${credit} trial: open the link we sent you (or send a new one "
                "from your email settings). Or subscribe on the billing page."
            )
        if account.trial_status == TrialStatus.ALREADY_USED:
            raise TrialAlreadyUsed(
                "This email address has already had its free trial. Subscribe on the billing page to keep generating."
            )
        left = account.trial_credit - trial_committed(organization=account.organization)
        if amount > left:
            raise TrialExhausted(
                f"The trial credit has ${prices.money_display(max(left, Decimal(0)))} left and this job needs up to "
                f"${prices.money_display(amount)}. Subscribe on the billing page to keep generating."
            )
        return True
    if account.standing == Standing.PAST_DUE and account.subscription_status == "paused":
        raise StandingRefused(
            "The subscription is paused (no payment method). Add one in the billing portal to resume it and continue."
        )
    if account.standing == Standing.PAST_DUE:
        raise StandingRefused("The last payment failed. Update the payment method in the billing portal to continue.")
    raise StandingRefused("The subscription is canceled. Subscribe again on the billing page to continue.")


def _check_limits(*, account: BillingAccount, end_user: EndUser | None, amount: Decimal) -> None:
    organization = account.organization
    if account.monthly_spend_limit is not None:
        committed = _committed(organization=organization)
        if committed + amount > account.monthly_spend_limit:
            raise SpendLimitReached(
                f"This job (up to ${prices.money_display(amount)}) would pass the monthly spend limit of "
                f"${prices.money_display(account.monthly_spend_limit)} (${prices.money_display(committed)} spent or "
                "in flight). An owner or admin can raise the limit on the billing page, or wait for next month."
            )
    if end_user is not None and end_user.monthly_spend_limit is not None:
        committed = _committed(organization=organization, end_user=end_user)
        if committed + amount > end_user.monthly_spend_limit:
            raise EndUserLimitReached(
                f"This job (up to ${prices.money_display(amount)}) would pass this end user's monthly limit of "
                f"${prices.money_display(end_user.monthly_spend_limit)}. The organization can raise it, "
                "or wait for next month."
            )


def spend_authorize(
    *,
    organization: Organization,
    end_user: EndUser | None,
    source_id: uuid.UUID,
    resolution: str | None,
    duration: int | str | None,
) -> SpendAuthorization:
    """Hold the most a job can cost, or refuse it. Call inside the caller's transaction.atomic()."""
    the_quote = quote(organization=organization, resolution=resolution, duration=duration)
    if end_user is not None and end_user.organization_id != organization.pk:
        raise InvalidInput("The end user belongs to another organization.")
    with transaction.atomic():
        # The account row lock serialises every spend decision of one organization.
        account = billing_account_get(organization=organization, lock=True)
        existing = SpendAuthorization.objects.filter(source_id=source_id).first()
        if existing is not None:
            return existing
        if end_user is not None:
            end_user.refresh_from_db(fields=["blocked", "monthly_spend_limit"])
            if end_user.blocked:
                raise EndUserBlocked("This end user is blocked by the organization; an owner or admin can unblock.")
        amount = the_quote.authorized_amount
        covered_by_trial = _check_standing(account=account, amount=amount)
        _check_limits(account=account, end_user=end_user, amount=amount)
        return SpendAuthorization.objects.create(
            organization=organization,
            end_user=end_user,
            source_id=source_id,
            resolution=the_quote.resolution,
            requested_duration=str(prices.duration_normalize(duration)),
            seconds=the_quote.max_seconds,
            unit_price=the_quote.unit_price,
            amount=amount,
            covered_by_trial=covered_by_trial,
        )


def spend_release(*, source_id: uuid.UUID, reason: str) -> int:
    """A failed, canceled or deleted job frees its authorization; it costs nothing. Idempotent: 1 if released now."""
    return SpendAuthorization.objects.filter(source_id=source_id, state=AuthorizationState.HELD).update(
        state=AuthorizationState.RELEASED, reason=reason[:200], closed_at=timezone.now()
    )


# --- the ledger --------------------------------------------------------------------


def usage_record_create(
    *, source_id: uuid.UUID, measured_seconds: float | Decimal | None, completed_at: datetime
) -> UsageRecord:
    """Settle a succeeded job's authorization into its one usage record; Stripe hears of it after commit."""
    with transaction.atomic():
        authorization = SpendAuthorization.objects.select_for_update().filter(source_id=source_id).first()
        if authorization is None:
            raise NotFound(f"No spend authorization for {source_id}.")
        existing = UsageRecord.objects.filter(source_id=source_id).first()
        if existing is not None:
            return existing
        if authorization.state == AuthorizationState.RELEASED:
            raise Conflict(f"The authorization of {source_id} was released ({authorization.reason}); it cannot bill.")
        billed = prices.billed_seconds(
            requested_duration=authorization.requested_duration, measured_seconds=measured_seconds
        )
        # Never bill past what was quoted and held ("auto" is quoted at 15 s at most).
        seconds = min(billed, authorization.seconds)
        record = UsageRecord.objects.create(
            organization_id=authorization.organization_id,
            end_user_id=authorization.end_user_id,
            source_id=source_id,
            resolution=authorization.resolution,
            seconds=seconds,
            unit_price=authorization.unit_price,
            amount=prices.amount(unit_price=authorization.unit_price, seconds=seconds),
            provider_cost=prices.provider_cost(resolution=authorization.resolution, seconds=seconds),
            covered_by_trial=authorization.covered_by_trial,
            period=period_start(completed_at),
            completed_at=completed_at,
            report_state=ReportState.TRIAL if authorization.covered_by_trial else ReportState.PENDING,
        )
        authorization.state = AuthorizationState.SETTLED
        authorization.closed_at = timezone.now()
        authorization.save(update_fields=["state", "closed_at"])
        provider_costs.provider_charge_record(
            source_id=source_id, basis=ProviderChargeBasis.DELIVERED, incurred_at=completed_at, seconds=seconds
        )
        if record.report_state == ReportState.PENDING and stripe_configured():
            transaction.on_commit(lambda: enqueue("billing.tasks.usage_record_report", str(record.pk)))
    return record


def usage_refund(*, usage_record: UsageRecord, amount: Decimal | None, reason: str, actor) -> UsageRecord:
    """Give back all (amount None) or part of a usage record as an adjustment record; the original stays as it was."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("A refund needs a reason.", fields={"reason": ["This field is required."]})
    with transaction.atomic():
        original = UsageRecord.objects.select_for_update().get(pk=usage_record.pk)
        if original.kind != UsageKind.USAGE:
            raise InvalidInput("Only usage can be refunded, not an adjustment.")
        refundable = original.amount + amount_total(original.adjustments.all())
        amount = refundable if amount is None else prices.money(amount)
        if amount <= 0 or amount > refundable:
            raise InvalidInput(
                f"Refund between $0.0001 and ${refundable} (what is left of this record).",
                fields={"amount": [f"Use more than 0 and at most {refundable}."]},
            )
        full = amount == original.amount
        now = timezone.now()
        refund = UsageRecord.objects.create(
            organization_id=original.organization_id,
            end_user_id=original.end_user_id,
            kind=UsageKind.REFUND,
            adjusts=original,
            reason=reason[:300],
            created_by=actor if getattr(actor, "pk", None) else None,
            resolution=original.resolution,
            seconds=-original.seconds if full else 0,
            unit_price=original.unit_price,
            amount=-amount,
            provider_cost=Decimal("0"),
            currency=original.currency,
            covered_by_trial=original.covered_by_trial,
            # A refund counts in the month it is issued, like the credit note that carries it: so the billing page
            # (by period) and /usage/ (by completion day) put it in the same month.
            period=period_start(now),
            completed_at=now,
            report_state=ReportState.NOT_REPORTED,
        )
        if original.covered_by_trial or (full and _report_cancel(record=original)):
            adjustment = StripeAdjustment.NOT_NEEDED  # Stripe never had it, and never will
        else:
            # Stripe has (or may soon have) the usage: the drain cancels its meter event while Stripe allows
            # (24 h), else credits the invoice that billed it. Nobody has to do it by hand.
            adjustment = StripeAdjustment.PENDING
            if stripe_configured():
                transaction.on_commit(lambda: enqueue("billing.tasks.usage_refund_settle", str(refund.pk)))
        refund.stripe_adjustment = adjustment
        refund.save(update_fields=["stripe_adjustment"])
    return refund


def _report_cancel(*, record: UsageRecord) -> bool:
    """Stop a never-attempted report; False when Stripe may already have it."""
    now = timezone.now()
    return bool(
        UsageRecord.objects.filter(pk=record.pk, report_state=ReportState.PENDING, report_attempts=0)
        .filter(Q(next_report_at__isnull=True) | Q(next_report_at__lte=now))
        .update(report_state=ReportState.NOT_REPORTED, last_report_error="Refunded before it was reported.")
    )
