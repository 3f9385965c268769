"""Refunds after metering reach Stripe (cancel within 24 h, else a credit note), and billing_reconcile
compares money per invoice, nets refunds and catches every difference in both directions."""

import uuid
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from billing import services, tasks
from billing.models import BillingAccount, ReportState, Standing, StripeAdjustment, UsageRecord
from billing.stripe import metering
from tests.billing.conftest import WEBHOOK_SECRET


def _usage(organization, seconds=10, *, report=True, completed_at=None):
    authorization = services.spend_authorize(
        organization=organization, end_user=None, source_id=uuid.uuid4(), resolution="720p", duration=seconds
    )
    record = services.usage_record_create(
        source_id=authorization.source_id, measured_seconds=None, completed_at=completed_at or timezone.now()
    )
    if report:
        assert metering.usage_record_report(usage_record_id=record.pk) == "reported"
    record.refresh_from_db()
    return record


def _subscription(fake, organization):
    return fake.subscriptions[BillingAccount.objects.get(organization=organization).stripe_subscription_id]


def _reconcile(capsys, since=None, *, grace_minutes=15) -> str:
    args = ["--since", (since or services.period_start()).isoformat(), "--grace-minutes", str(grace_minutes)]
    try:
        call_command("billing_reconcile", *args)
    except CommandError as exc:
        return capsys.readouterr().out + f"\nEXIT 1: {exc}"
    return capsys.readouterr().out


def test_a_refund_within_24h_cancels_the_meter_event(
    subscribed_org, synced_stripe, admin_user, capsys, django_capture_on_commit_callbacks
):
    record = _usage(subscribed_org)
    assert synced_stripe.meter_event_total("seedance_seconds_720p") == 10
    with django_capture_on_commit_callbacks(execute=True):
        refund = services.usage_refund(usage_record=record, amount=None, reason="broken video", actor=admin_user)
    refund.refresh_from_db()
    assert refund.stripe_adjustment == StripeAdjustment.CANCELED and refund.stripe_adjustment_ref == str(record.pk)
    assert synced_stripe.meter_event_total("seedance_seconds_720p") == 0  # Stripe no longer holds the 10 s
    assert "agree" in _reconcile(capsys)
    synced_stripe.set_now(_subscription(synced_stripe, subscribed_org)["current_period_end"])
    [invoice] = synced_stripe.invoices.values()
    assert invoice["total"] == 0
    assert "agree" in _reconcile(capsys)


@pytest.mark.parametrize("amount", [None, "1.0000"], ids=["full", "partial"])
def test_a_refund_stripe_can_no_longer_cancel_becomes_a_credit_note(
    subscribed_org, synced_stripe, admin_user, capsys, django_capture_on_commit_callbacks, amount
):
    record = _usage(subscribed_org)  # 10 s of 720p: $3.024, invoiced as $3.02
    UsageRecord.objects.filter(pk=record.pk).update(reported_at=timezone.now() - timedelta(hours=25))
    synced_stripe.meter_events[0]["created"] -= 25 * 3600  # Stripe received it 25 h ago
    with django_capture_on_commit_callbacks(execute=True):
        refund = services.usage_refund(usage_record=record, amount=amount, reason="broken video", actor=admin_user)
    refund.refresh_from_db()
    assert refund.stripe_adjustment == StripeAdjustment.PENDING  # the invoice is not final yet
    assert synced_stripe.meter_event_total("seedance_seconds_720p") == 10
    synced_stripe.set_now(_subscription(synced_stripe, subscribed_org)["current_period_end"])
    out = _reconcile(capsys)
    assert "EXIT 1" in out and "credits: ledger" in out  # the refund is not credited in Stripe yet
    tasks.usage_report_drain()  # the schedule's pass credits it
    refund.refresh_from_db()
    assert refund.stripe_adjustment == StripeAdjustment.CREDITED
    [invoice] = synced_stripe.invoices.values()
    [credit_note] = synced_stripe.credit_notes.values()
    assert refund.stripe_adjustment_ref == credit_note["id"] and credit_note["invoice"] == invoice["id"]
    assert credit_note["amount"] == (302 if amount is None else 100)
    assert "agree" in _reconcile(capsys)


def test_reconcile_ledger_has_more_stripe_lost_an_event(subscribed_org, synced_stripe, capsys):
    _usage(subscribed_org, 5)
    _usage(subscribed_org, 9)
    assert "agree" in _reconcile(capsys)
    synced_stripe.meter_events[0]["canceled"] = True  # canceled in the dashboard, behind our back
    out = _reconcile(capsys)
    assert "EXIT 1: 2 difference" in out
    assert "seedance_seconds_720p: ledger reported 14 s, Stripe has 9 s (difference +5 s)" in out
    assert "upcoming invoice" in out and "ledger 14 s $4.23, Stripe 9 s $2.72" in out


def test_reconcile_stripe_has_more_on_the_invoice(subscribed_org, synced_stripe, capsys):
    record = _usage(subscribed_org, 5)
    synced_stripe.plant_meter_event(
        event_name="seedance_seconds_720p",
        customer=BillingAccount.objects.get(organization=subscribed_org).stripe_customer_id,
        value="4",
        timestamp=int(record.completed_at.timestamp()),
    )
    synced_stripe.set_now(_subscription(synced_stripe, subscribed_org)["current_period_end"])
    out = _reconcile(capsys)
    assert "EXIT 1" in out and "ledger expects $1.51, Stripe bills $2.72" in out


def test_reconcile_catches_unreported_and_late_usage(subscribed_org, synced_stripe, capsys):
    _usage(subscribed_org, 5, report=False)
    assert "not reported yet" in _reconcile(capsys)  # still within the grace period: a note
    out = _reconcile(capsys, grace_minutes=0)
    assert "usage pending: ledger billed 5 s ($1.51), Stripe has none of it" in out
    synced_stripe.set_now(_subscription(synced_stripe, subscribed_org)["current_period_end"])  # invoice closes
    assert metering.usage_report_drain() == 1  # reported after the invoice closed: Stripe will never bill it
    out = _reconcile(capsys)
    assert "EXIT 1" in out and "ledger expects $1.51, Stripe bills $0.00" in out


def test_reconcile_catches_usage_no_invoice_bills(
    subscribed_org, organization, synced_stripe, capsys, client, django_capture_on_commit_callbacks
):
    # An account set active by hand, without a subscription: Stripe takes the events and never invoices them.
    BillingAccount.objects.filter(organization=organization).update(standing=Standing.ACTIVE)
    _usage(organization, 5)
    out = _reconcile(capsys)
    assert f"{organization.slug} usage no invoice bills: ledger billed 5 s ($1.51)" in out
    assert "no Stripe subscription" in out
    # A paused subscription: the account stops taking paid jobs, and Stripe invoices nothing while paused.
    _usage(subscribed_org, 5)
    subscription = synced_stripe.subscription_set_status(_subscription(synced_stripe, subscribed_org)["id"], "paused")
    payload, signature, _ = synced_stripe.signed_event("customer.subscription.updated", subscription, WEBHOOK_SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/hooks/stripe/", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
    account = BillingAccount.objects.get(organization=subscribed_org)
    assert account.standing == Standing.PAST_DUE and account.subscription_status == "paused"
    with pytest.raises(services.StandingRefused, match="paused"):
        _usage(subscribed_org, 5)
    synced_stripe.set_now(subscription["current_period_end"])
    assert not synced_stripe.invoices
    out = _reconcile(capsys)
    assert f"{subscribed_org.slug} usage no invoice bills: ledger billed 5 s ($1.51)" in out
    assert "the subscription is paused" in out


def test_refunded_usage_of_a_trial_needs_nothing_in_stripe(organization, synced_stripe, admin_user):
    record = _usage(organization, report=False)
    assert record.report_state == ReportState.TRIAL
    refund = services.usage_refund(usage_record=record, amount=None, reason="broken", actor=admin_user)
    assert refund.stripe_adjustment == StripeAdjustment.NOT_NEEDED


def test_a_refund_after_the_invoice_is_final_is_credited_not_canceled(
    subscribed_org, synced_stripe, admin_user, capsys, django_capture_on_commit_callbacks
):
    """Reported an hour before the period ended and refunded an hour after: Stripe would still cancel the meter
    event (under 24 h), but the finalized invoice already bills it; only a credit note takes it off."""
    period_end = _subscription(synced_stripe, subscribed_org)["current_period_end"]
    synced_stripe.set_now(period_end - 3600)
    record = _usage(subscribed_org)
    synced_stripe.set_now(period_end + 3600)
    [invoice] = synced_stripe.invoices.values()
    assert invoice["status"] == "open" and invoice["total"] == 302
    with django_capture_on_commit_callbacks(execute=True):
        refund = services.usage_refund(usage_record=record, amount=None, reason="broken video", actor=admin_user)
    refund.refresh_from_db()
    assert refund.stripe_adjustment == StripeAdjustment.CREDITED
    [credit_note] = synced_stripe.credit_notes.values()
    assert (credit_note["invoice"], credit_note["amount"]) == (invoice["id"], 302)
    assert "agree" in _reconcile(capsys)
