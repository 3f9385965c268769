"""Money per invoice: each Stripe invoice against the ledger's invoice for the same usage period, to the cent."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from billing import prices, selectors, stripe_gateway
from billing.models import BillingAccount, ReportState
from billing.stripe.adjustments import FINAL_INVOICE_STATES, invoice_window, invoices_of, utc
from billing.stripe.common import list_all

# Statuses whose subscription still has an upcoming invoice (a past_due one keeps invoicing while Stripe retries).
UPCOMING_INVOICE_SUBSCRIPTION_STATES = ("active", "past_due", "trialing")


def _upcoming(client, account: BillingAccount) -> dict | None:
    if not account.stripe_subscription_id:
        return None
    subscription = stripe_gateway.call(lambda: client.v1.subscriptions.retrieve(account.stripe_subscription_id))
    if subscription.status not in UPCOMING_INVOICE_SUBSCRIPTION_STATES:
        return None
    preview = stripe_gateway.call(
        lambda: client.v1.invoices.create_preview(
            {"customer": account.stripe_customer_id, "subscription": account.stripe_subscription_id}
        )
    )
    return preview.to_dict()


def _cents(value: Decimal) -> str:
    return f"${Decimal(value) / 100:.2f}"


def _rate(unit_amount_decimal) -> str:
    return format(Decimal(str(unit_amount_decimal)).normalize(), "f")


def invoice_differences(client, account: BillingAccount, *, start: datetime, end: datetime):
    """Returns ([(subject, ledger, stripe, detail)], ids of the usage records some invoice period covers)."""
    if not account.stripe_customer_id:
        return [], set()
    invoices = [i for i in invoices_of(account.stripe_customer_id) if i["status"] in FINAL_INVOICE_STATES]
    upcoming = _upcoming(client, account)
    differences, covered = [], set()
    for invoice in [*invoices, *([upcoming] if upcoming else [])]:
        window_start, window_end = invoice_window(invoice)
        if window_end <= start.timestamp() or window_start >= end.timestamp():
            continue
        final = invoice is not upcoming
        ledger = selectors.ledger_invoice(
            organization=account.organization,
            start=utc(window_start),
            end=utc(window_end),
            # A closed invoice should hold everything billed in its period; the upcoming one what was sent so far.
            states=selectors.BILLABLE_STATES if final else (ReportState.REPORTED,),
        )
        covered.update(ledger.record_ids)
        stripe_lines: dict[str, list[int]] = {}
        for line in invoice["lines"]["data"]:
            rate = _rate((line.get("pricing") or {}).get("unit_amount_decimal") or "0")
            seconds_and_cents = stripe_lines.setdefault(rate, [0, 0])
            seconds_and_cents[0] += int(line.get("quantity") or 0)
            seconds_and_cents[1] += int(line["amount"])
        ledger_lines = {
            _rate(prices.stripe_unit_amount_decimal(line.unit_price)): [line.seconds, prices.stripe_cents(line.amount)]
            for line in ledger.lines
        }
        stripe_credits = ledger_credits = 0
        if final:
            notes = list_all(client.v1.credit_notes.list, {"invoice": invoice["id"]})
            stripe_credits = sum(int(note.amount) for note in notes if note.status != "void")
            ledger_credits = prices.stripe_cents(ledger.credit_total)
        stripe_total = sum(cents for _, cents in stripe_lines.values()) - stripe_credits
        ledger_total = sum(cents for _, cents in ledger_lines.values()) - ledger_credits
        if stripe_lines == ledger_lines and stripe_total == ledger_total:
            continue
        details = []
        for rate in sorted(set(stripe_lines) | set(ledger_lines)):
            ours, theirs = ledger_lines.get(rate, [0, 0]), stripe_lines.get(rate, [0, 0])
            if ours != theirs:
                details.append(
                    f"{rate} cents/s: ledger {ours[0]} s {_cents(ours[1])}, Stripe {theirs[0]} s {_cents(theirs[1])}"
                )
        if stripe_credits != ledger_credits:
            details.append(f"credits: ledger {_cents(ledger_credits)}, Stripe {_cents(stripe_credits)}")
        period = f"{utc(window_start):%Y-%m-%d}..{utc(window_end):%Y-%m-%d}"
        subject = f"invoice {invoice['id']} ({period})" if final else f"upcoming invoice ({period})"
        ledger_says, stripe_says = f"expects {_cents(ledger_total)}", f"bills {_cents(stripe_total)}"
        differences.append((subject, ledger_says, stripe_says, "; ".join(details)))
    return differences, covered
