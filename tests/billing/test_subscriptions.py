"""Price and plan changes reach live subscriptions: the fake Stripe's subscription is read after each change."""

from decimal import Decimal

from django.core.management import call_command

from billing import services
from billing.models import BillingAccount, BillingAuditEntry, Plan, Standing


def _item_prices(fake, organization) -> dict[str, str]:
    """resolution -> price id of each item of the organization's subscription, as Stripe holds it."""
    account = BillingAccount.objects.get(organization=organization)
    subscription = fake.subscriptions[account.stripe_subscription_id]
    return {item["price"]["metadata"]["resolution"]: item["price"]["id"] for item in subscription["items"]["data"]}


def test_subscribing_puts_the_plans_prices_on_the_subscription(subscribed_org, synced_stripe):
    account = BillingAccount.objects.get(organization=subscribed_org)
    assert account.standing == Standing.ACTIVE
    assert _item_prices(synced_stripe, subscribed_org) == account.plan.stripe_price_ids


def test_a_price_edit_moves_live_subscriptions_to_the_new_price(subscribed_org, synced_stripe, capsys):
    plan = Plan.objects.get(is_default=True)
    old_720 = plan.stripe_price_ids["720p"]
    plan.price_720p = Decimal("0.4000")
    plan.save()
    call_command("stripe_sync")
    plan.refresh_from_db()
    new_720 = plan.stripe_price_ids["720p"]
    assert new_720 != old_720 and synced_stripe.prices[old_720]["active"] is False
    items = _item_prices(synced_stripe, subscribed_org)
    assert items["720p"] == new_720
    assert synced_stripe.prices[items["720p"]]["unit_amount_decimal"] == "40"
    assert items == plan.stripe_price_ids  # the other resolutions did not move
    assert "subscription" in capsys.readouterr().out


def test_a_price_edit_is_invoiced_at_the_new_price_from_the_change(subscribed_org, synced_stripe):
    """10 s of 720p after the edit cost $4.00 in the ledger and on the invoice (was $3.024 at the old price)."""
    import uuid

    from django.utils import timezone

    from billing.stripe import metering

    plan = Plan.objects.get(is_default=True)
    plan.price_720p = Decimal("0.4000")
    plan.save()
    call_command("stripe_sync")
    synced_stripe.advance(1)  # the change takes effect before the usage
    authorization = services.spend_authorize(
        organization=subscribed_org, end_user=None, source_id=uuid.uuid4(), resolution="720p", duration=10
    )
    record = services.usage_record_create(
        source_id=authorization.source_id, measured_seconds=None, completed_at=timezone.now()
    )
    assert record.amount == Decimal("4.0000")
    metering.usage_record_report(usage_record_id=record.pk)
    account = BillingAccount.objects.get(organization=subscribed_org)
    subscription = synced_stripe.subscriptions[account.stripe_subscription_id]
    synced_stripe.set_now(subscription["current_period_end"])
    [invoice] = synced_stripe.invoices.values()
    assert [line["amount"] for line in invoice["lines"]["data"]] == [400]


def test_a_plan_change_moves_the_subscription_to_the_new_plans_prices(
    subscribed_org, synced_stripe, capsys, django_capture_on_commit_callbacks
):
    premium = Plan.objects.create(
        name="Premium", slug="premium", price_480p="0.2000", price_720p="0.5000", price_1080p="1.0000"
    )
    call_command("stripe_sync")
    premium.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.billing_account_change_plan(organization=subscribed_org, plan=premium)
    assert _item_prices(synced_stripe, subscribed_org) == premium.stripe_price_ids
    assert services.quote(organization=subscribed_org, resolution="720p", duration=10).max_amount == Decimal("5.0000")


def test_the_admin_plan_change_moves_the_subscription_and_is_audited(
    subscribed_org, synced_stripe, admin_client, capsys, django_capture_on_commit_callbacks
):
    premium = Plan.objects.create(
        name="Premium", slug="premium", price_480p="0.2000", price_720p="0.5000", price_1080p="1.0000"
    )
    call_command("stripe_sync")
    premium.refresh_from_db()
    account = BillingAccount.objects.get(organization=subscribed_org)
    form = {
        "action": "change_plan",
        "_selected_action": [str(account.pk)],
        "apply": "1",
        "plan": premium.pk,
        "reason": "negotiated rate",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/billing/billingaccount/", form)
    assert response.status_code == 302, response.content
    assert _item_prices(synced_stripe, subscribed_org) == premium.stripe_price_ids
    assert BillingAuditEntry.objects.get(organization=subscribed_org, field="plan").new_value == "premium"


def test_checkout_anchors_the_subscription_to_the_first_of_the_month_utc(subscribed_org, synced_stripe):
    """Invoice periods are the calendar months the ledger and the billing page use."""
    from datetime import UTC, datetime

    account = BillingAccount.objects.get(organization=subscribed_org)
    subscription = synced_stripe.subscriptions[account.stripe_subscription_id]
    first_end = datetime.fromtimestamp(subscription["current_period_end"], UTC)
    assert (first_end.day, first_end.hour, first_end.minute, first_end.second) == (1, 0, 0, 0)
    assert first_end == services.next_period_start()
    assert subscription["proration_behavior_at_anchor"] == "none"
    synced_stripe.set_now(subscription["current_period_end"])  # the first (short) period ends on the 1st
    start = datetime.fromtimestamp(subscription["current_period_start"], UTC)
    end = datetime.fromtimestamp(subscription["current_period_end"], UTC)
    assert start == first_end and start.date() == services.period_start(start)
    assert end == services.next_period_start(start)  # every later period is one whole calendar month


def test_a_subscription_stripe_no_longer_knows_does_not_stop_stripe_sync(subscribed_org, synced_stripe, capsys):
    account = BillingAccount.objects.get(organization=subscribed_org)
    del synced_stripe.subscriptions[account.stripe_subscription_id]
    plan = Plan.objects.get(is_default=True)
    plan.price_720p = Decimal("0.4000")
    plan.save()
    call_command("stripe_sync")
    out = capsys.readouterr().out
    assert "NOT MOVED" in out and "No such subscription" in out and "in sync" in out


def test_a_plan_without_stripe_prices_is_refused_for_a_subscriber(subscribed_org, synced_stripe):
    """Moving a subscriber to a plan stripe_sync has not priced yet would charge the new plan in the ledger while
    Stripe kept invoicing the old prices: refused, with what to do, and nothing changes."""
    import pytest

    from seedance_saas.errors import Conflict

    unsynced = Plan.objects.create(
        name="Premium", slug="premium", price_480p="0.2000", price_720p="0.5000", price_1080p="1.0000"
    )
    before = _item_prices(synced_stripe, subscribed_org)
    with pytest.raises(Conflict) as refused:
        services.billing_account_change_plan(organization=subscribed_org, plan=unsynced)
    assert refused.value.code == "plan_not_synced"
    assert refused.value.message == (
        "Plan 'premium' has no Stripe prices yet: run `python manage.py stripe_sync`, then change the plan again."
    )
    assert BillingAccount.objects.get(organization=subscribed_org).plan.is_default
    assert _item_prices(synced_stripe, subscribed_org) == before


def test_without_stripe_a_plan_change_needs_no_stripe_prices(subscribed_org, settings):
    """Ledger-only mode (Stripe unset): nothing to move, so an account that once subscribed changes plan freely."""
    settings.STRIPE_API_KEY = ""
    unsynced = Plan.objects.create(
        name="Premium", slug="premium", price_480p="0.2000", price_720p="0.5000", price_1080p="1.0000"
    )
    services.billing_account_change_plan(organization=subscribed_org, plan=unsynced)
    assert BillingAccount.objects.get(organization=subscribed_org).plan == unsynced


def test_a_checkout_opened_before_a_price_edit_subscribes_at_the_new_price(
    synced_stripe, capsys, django_capture_on_commit_callbacks
):
    """A Checkout session carries the prices of when it was opened (it lives 24 h); stripe_sync, run meanwhile,
    had no subscription to move. The completed checkout moves the new subscription to the current prices."""
    from django.test import Client

    from billing.stripe import checkout
    from tests.billing.conftest import WEBHOOK_SECRET
    from tests.factories import OrganizationFactory

    with django_capture_on_commit_callbacks(execute=True):
        organization = OrganizationFactory()
    url = checkout.checkout_session_create(
        organization=organization, success_url="https://x.test/ok", cancel_url="https://x.test/no"
    )
    plan = Plan.objects.get(is_default=True)
    plan.price_720p = Decimal("0.4000")
    plan.save()
    call_command("stripe_sync")
    plan.refresh_from_db()
    session, _ = synced_stripe.checkout_complete(url.rsplit("/", 1)[1])
    payload, signature, _ = synced_stripe.signed_event("checkout.session.completed", session, WEBHOOK_SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            "/hooks/stripe/", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
        )
    assert response.status_code == 200
    assert _item_prices(synced_stripe, organization) == plan.stripe_price_ids
