"""stripe_sync is idempotent and follows plan edits; billing_reconcile catches a planted difference."""

import uuid
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from billing import services
from billing.models import BillingAccount, Plan, StripeMeter
from billing.stripe import metering


def test_stripe_sync_creates_meters_product_and_metered_prices(stripe_server, capsys):
    call_command("stripe_sync")
    out = capsys.readouterr().out
    assert out.count("created") == 7 and "in sync" in out
    meters = {m["event_name"]: m for m in stripe_server.meters.values()}
    assert set(meters) == {"seedance_seconds_480p", "seedance_seconds_720p", "seedance_seconds_1080p"}
    for meter in meters.values():
        assert meter["default_aggregation"] == {"formula": "sum"}
        assert meter["customer_mapping"] == {"event_payload_key": "stripe_customer_id", "type": "by_id"}
    plan = Plan.objects.get(is_default=True)
    price_720 = stripe_server.prices[plan.stripe_price_ids["720p"]]
    assert price_720["unit_amount_decimal"] == "30.24"
    assert price_720["recurring"]["usage_type"] == "metered" and price_720["recurring"]["interval"] == "month"
    assert price_720["recurring"]["meter"] == StripeMeter.objects.get(resolution="720p").stripe_meter_id
    assert stripe_server.prices[plan.stripe_price_ids["1080p"]]["unit_amount_decimal"] == "68.5"
    assert plan.stripe_product_id == "seedance_standard" and price_720["product"] == "seedance_standard"


def test_stripe_sync_twice_changes_nothing(stripe_server, capsys):
    call_command("stripe_sync")
    before = (dict(stripe_server.meters), dict(stripe_server.prices), dict(stripe_server.products))
    capsys.readouterr()
    call_command("stripe_sync")
    assert "created" not in capsys.readouterr().out
    assert (stripe_server.meters, stripe_server.prices, stripe_server.products) == before


def test_a_price_edit_makes_a_new_price_and_archives_the_old(stripe_server, capsys):
    call_command("stripe_sync")
    plan = Plan.objects.get(is_default=True)
    old_id = plan.stripe_price_ids["720p"]
    plan.price_720p = Decimal("0.4000")
    plan.save()
    call_command("stripe_sync")
    plan.refresh_from_db()
    new = stripe_server.prices[plan.stripe_price_ids["720p"]]
    assert new["unit_amount_decimal"] == "40" and new["lookup_key"] == "seedance_standard_720p"
    assert stripe_server.prices[old_id]["active"] is False
    assert len(stripe_server.meters) == 3


def test_stripe_sync_without_a_key_fails_clearly(settings):
    settings.STRIPE_API_KEY = ""
    with pytest.raises(CommandError, match="ledger-only"):
        call_command("stripe_sync")


def _reported_usage(organization, seconds):
    authorization = services.spend_authorize(
        organization=organization, end_user=None, source_id=uuid.uuid4(), resolution="720p", duration=seconds
    )
    record = services.usage_record_create(
        source_id=authorization.source_id, measured_seconds=None, completed_at=timezone.now()
    )
    assert metering.usage_record_report(usage_record_id=record.pk) == "reported"
    return record


def test_reconcile_agrees_then_catches_a_planted_difference(subscribed_org, synced_stripe, capsys):
    organization = subscribed_org
    _reported_usage(organization, 5)
    _reported_usage(organization, 9)
    call_command("billing_reconcile")
    assert "agree" in capsys.readouterr().out
    customer = BillingAccount.objects.get(organization=organization).stripe_customer_id
    synced_stripe.plant_meter_event(
        event_name="seedance_seconds_720p", customer=customer, value="4", timestamp=int(timezone.now().timestamp())
    )
    with pytest.raises(CommandError, match="2 difference"):
        call_command("billing_reconcile", "--since", timezone.now().date().isoformat())
    out = capsys.readouterr().out
    assert f"{organization.slug} seedance_seconds_720p: ledger reported 14 s, Stripe has 18 s" in out
    assert f"{organization.slug} upcoming invoice" in out  # the upcoming invoice bills the 4 s too


def test_reconcile_rejects_a_bad_date(synced_stripe):
    with pytest.raises(CommandError, match="--since"):
        call_command("billing_reconcile", "--since", "yesterday")
