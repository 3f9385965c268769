"""Refunds of usage Stripe already holds: cancel the meter event while Stripe allows, else a credit note.

Stripe lets a meter event be canceled (a meter event adjustment) only within 24 hours of receiving it; we
stop at 23 h to stay clear of the edge, and never cancel once a finalized invoice bills the usage (the
cancel would not take it off that invoice). After that, or for a partial refund, the usage is on an invoice and
the refund becomes a credit note on that invoice once it is finalized (until then the refund waits). The
outcome is written on the refund record (`stripe_adjustment`, `stripe_adjustment_ref`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import stripe
from django.utils import timezone

from billing import prices, stripe_gateway
from billing.models import ReportState, StripeAdjustment, UsageKind, UsageRecord
from billing.stripe.common import list_all, meter_event_name, stripe_client

log = logging.getLogger(__name__)

CANCEL_WINDOW = timedelta(hours=23)
FINAL_INVOICE_STATES = ("open", "paid", "uncollectible")


def _mark(refund: UsageRecord, adjustment: str, ref: str = "", error: str = "") -> None:
    fields = {"stripe_adjustment": adjustment, "stripe_adjustment_ref": ref[:100], "last_report_error": error}
    if error:
        fields["flagged_at"] = timezone.now()
    UsageRecord.objects.filter(pk=refund.pk).update(**fields)


def invoice_window(invoice: dict) -> tuple[int, int]:
    """The usage period an invoice bills: its lines' period (metered usage is billed in arrears)."""
    periods = [line["period"] for line in invoice["lines"]["data"] if line.get("period")]
    if periods:
        return min(p["start"] for p in periods), max(p["end"] for p in periods)
    return invoice["period_start"], invoice["period_end"]


def invoices_of(customer_id: str) -> list[dict]:
    client = stripe_client()
    return [i.to_dict() for i in list_all(client.v1.invoices.list, {"customer": customer_id})]


def _invoice_for(customer_id: str, moment: datetime) -> dict | None:
    when = int(moment.timestamp())
    for invoice in invoices_of(customer_id):
        start, end = invoice_window(invoice)
        if invoice["status"] in FINAL_INVOICE_STATES and start <= when < end:
            return invoice
    return None


def usage_refund_settle(*, refund_id) -> str:
    """Make Stripe forget (cancel) or credit (credit note) one refund. Idempotent; returns what happened."""
    refund = UsageRecord.objects.select_related("adjusts__organization__billing_account").get(
        pk=refund_id, kind=UsageKind.REFUND
    )
    if refund.stripe_adjustment != StripeAdjustment.PENDING or not stripe_gateway.configured():
        return "nothing to do"
    original = refund.adjusts
    if original.report_state == ReportState.PENDING:
        return "waiting: the usage is not in Stripe yet"
    if original.report_state != ReportState.REPORTED:  # failed, rejected, never sent: Stripe bills none of it
        _mark(refund, StripeAdjustment.NOT_NEEDED)
        return "not needed"
    client = stripe_client()
    customer_id = original.organization.billing_account.stripe_customer_id
    invoice = _invoice_for(customer_id, original.completed_at)
    full = original.seconds > 0 and refund.seconds == -original.seconds
    recent = original.reported_at and timezone.now() - original.reported_at < CANCEL_WINDOW
    # Once an invoice that bills the usage is final, canceling the event no longer takes it off: credit it.
    if full and recent and invoice is None:
        try:
            stripe_gateway.call(
                lambda: client.v1.billing.meter_event_adjustments.create(
                    {
                        "event_name": meter_event_name(original.resolution),
                        "type": "cancel",
                        "cancel": {"identifier": original.stripe_identifier},
                    },
                    {"idempotency_key": f"meter-cancel-{original.pk}"},
                )
            )
            _mark(refund, StripeAdjustment.CANCELED, original.stripe_identifier)
            return "canceled"
        except stripe.InvalidRequestError as exc:  # too late after all: credit it instead
            log.info("Stripe would not cancel meter event %s (%s); crediting", original.pk, exc.user_message)
    if invoice is None:
        return "waiting: the invoice for this usage is not final yet"
    cents = prices.stripe_cents(prices.credit_amount(refund.amount))
    try:
        credit_note = stripe_gateway.call(
            lambda: client.v1.credit_notes.create(
                {
                    "invoice": invoice["id"],
                    "lines": [
                        {
                            "type": "custom_line_item",
                            "description": f"Refund of {original.seconds} s of {original.resolution} video",
                            "quantity": 1,
                            "unit_amount": cents,
                        }
                    ],
                    "memo": refund.reason[:200],
                    "metadata": {"usage_record": str(original.pk), "refund": str(refund.pk)},
                },
                {"idempotency_key": f"credit-note-{refund.pk}"},
            )
        )
    except stripe.InvalidRequestError as exc:
        _mark(refund, StripeAdjustment.PENDING, error=f"Credit note refused: {stripe_gateway.describe(exc)}")
        return "failed"
    _mark(refund, StripeAdjustment.CREDITED, credit_note.id)
    return "credited"


def refunds_settle_pending(*, limit: int = 200) -> dict[str, int]:
    """The drain's second half: settle every refund still pending (not those an operator must look at)."""
    outcomes: dict[str, int] = {}
    pending = UsageRecord.objects.filter(
        kind=UsageKind.REFUND, stripe_adjustment=StripeAdjustment.PENDING, flagged_at__isnull=True
    ).exclude(adjusts__report_state=ReportState.PENDING)
    for refund_id in pending.order_by("created_at").values_list("pk", flat=True)[:limit]:
        try:
            outcome = usage_refund_settle(refund_id=refund_id)
        except stripe.StripeError as exc:  # Stripe is down: the next pass tries again
            log.warning("Refund %s not settled in Stripe yet: %s", refund_id, stripe_gateway.describe(exc))
            outcome = "retry"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def utc(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
