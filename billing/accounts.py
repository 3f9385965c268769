"""Hand changes of a billing account (operators): standing and plan only through these, each with a reason and audit."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import transaction

from accounts.models import Organization, User
from billing.models import BillingAccount, BillingAuditEntry, Plan, Standing
from billing.services import billing_account_change_plan, billing_account_get
from seedance_saas.errors import Conflict, InvalidInput

# Subscription statuses under which Stripe invoices the metered usage we report.
INVOICED_SUBSCRIPTION_STATUSES = ("active", "trialing")


def _reason_required(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why: a hand change of billing needs a reason.", fields={"reason": ["Required."]})
    return reason


def billing_audit_record(
    *, organization: Organization, field: str, old_value, new_value, reason: str, actor: User | None
) -> BillingAuditEntry:
    """Write one audit entry; call inside the transaction that makes the change."""
    return BillingAuditEntry.objects.create(
        organization=organization,
        field=field,
        old_value="" if old_value is None else str(old_value)[:200],
        new_value="" if new_value is None else str(new_value)[:200],
        reason=_reason_required(reason)[:500],
        actor=actor if getattr(actor, "pk", None) else None,
    )


def billing_account_invoiced(account: BillingAccount) -> bool:
    """Whether Stripe will invoice this account's usage: a live subscription in a status that invoices."""
    return bool(account.stripe_subscription_id) and account.subscription_status in INVOICED_SUBSCRIPTION_STATUSES


def billing_account_set_standing(
    *, organization: Organization, standing: str, reason: str, actor: User | None
) -> BillingAccount:
    """Operators set a standing by hand, with a reason; `active` only where a subscription will invoice the usage."""
    if standing not in Standing.values:
        raise InvalidInput(f"Unknown standing {standing!r}.", fields={"standing": [f"One of {Standing.values}."]})
    reason = _reason_required(reason)
    with transaction.atomic():
        account = billing_account_get(organization=organization, lock=True)
        if standing == Standing.ACTIVE and not billing_account_invoiced(account):
            raise Conflict(
                f"{organization} has no Stripe subscription that invoices usage (subscription "
                f"{account.stripe_subscription_id or 'none'}, status {account.subscription_status or 'none'}): "
                "marked active, its usage would be reported and never invoiced. Have an owner subscribe on the "
                "billing page (Checkout), or raise the trial credit instead.",
                code="not_invoiced",
            )
        old = account.standing
        if old == standing:
            return account
        account.standing = standing
        account.save(update_fields=["standing", "updated_at"])
        billing_audit_record(
            organization=organization, field="standing", old_value=old, new_value=standing, reason=reason, actor=actor
        )
    return account


# The column holds 12 digits, 4 after the point.
MAX_CREDIT_USD = Decimal("99999999.99")


def credit_amount_parse(raw: str | Decimal) -> Decimal:
    """A positive amount of USD with at most two decimals, e.g. "25" or "12.50"."""
    try:
        amount = Decimal(str(raw).strip().removeprefix("$"))
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0:
        raise InvalidInput(f"The amount must be a positive number of USD, like 25 or 12.50, not {raw!r}.")
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput(f"The amount is in USD to the cent: {raw!r} has more than two decimals.")
    return amount


def billing_account_grant_credit(
    *, organization: Organization, amount: Decimal, reason: str, actor: User | None
) -> BillingAccount:
    """Operators add to an account's credit (the trial credit the standing `trial` spends), with a reason and audit."""
    amount = credit_amount_parse(amount)
    reason = _reason_required(reason)
    with transaction.atomic():
        account = billing_account_get(organization=organization, lock=True)
        old = account.trial_credit
        new = old + amount
        if new > MAX_CREDIT_USD:
            raise InvalidInput(f"The credit would reach {new} USD, above the most an account holds ({MAX_CREDIT_USD}).")
        account.trial_credit = new
        account.save(update_fields=["trial_credit", "updated_at"])
        billing_audit_record(
            organization=organization, field="trial_credit", old_value=old, new_value=new, reason=reason, actor=actor
        )
    return account


def billing_account_set_plan(
    *, organization: Organization, plan: Plan, reason: str, actor: User | None
) -> BillingAccount:
    """Operators move an account to another plan, with a reason. Its Stripe subscription items follow after
    commit (`billing_account_change_plan`), so the next invoice charges what the ledger does."""
    reason = _reason_required(reason)
    with transaction.atomic():
        account = billing_account_get(organization=organization, lock=True)
        old = account.plan
        if old.pk == plan.pk:
            return account
        account = billing_account_change_plan(organization=organization, plan=plan)
        billing_audit_record(
            organization=organization, field="plan", old_value=old.slug, new_value=plan.slug, reason=reason, actor=actor
        )
    return account


def billing_account_audit_edit(*, account: BillingAccount, changes: dict, reason: str, actor: User | None) -> None:
    """Audit admin edits of the freely editable fields (limit, trial credit): {field: (old, new)}."""
    for field, (old_value, new_value) in changes.items():
        billing_audit_record(
            organization=account.organization,
            field=field,
            old_value=old_value,
            new_value=new_value,
            reason=reason,
            actor=actor,
        )
