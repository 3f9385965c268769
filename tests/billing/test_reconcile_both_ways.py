"""billing_reconcile catches a difference whichever side has more: Stripe above the ledger, or below it."""

import uuid

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from billing import services
from billing.models import BillingAccount, ReportState, UsageRecord


@pytest.fixture
def paying(subscribed_org, django_capture_on_commit_callbacks):
    """A subscribed organization with 5 s and 9 s of 720p usage, both sent to the fake Stripe."""
    organization = subscribed_org
    for seconds in (5, 9):
        with django_capture_on_commit_callbacks(execute=True):
            authorization = services.spend_authorize(
                organization=organization, end_user=None, source_id=uuid.uuid4(), resolution="720p", duration=seconds
            )
            services.usage_record_create(
                source_id=authorization.source_id, measured_seconds=None, completed_at=timezone.now()
            )
    assert set(UsageRecord.objects.values_list("report_state", flat=True)) == {ReportState.REPORTED}
    return organization


def _reconcile(capsys) -> tuple[bool, str]:
    capsys.readouterr()
    try:
        call_command("billing_reconcile")
    except CommandError:
        return False, capsys.readouterr().out
    return True, capsys.readouterr().out


def _customer(organization) -> str:
    return BillingAccount.objects.get(organization=organization).stripe_customer_id


def test_ledger_and_stripe_agree(paying, capsys):
    agree, out = _reconcile(capsys)
    assert agree and "agree" in out and "DIFFERENCE" not in out


def test_stripe_has_more_than_the_ledger(paying, synced_stripe, capsys):
    synced_stripe.plant_meter_event(
        event_name="seedance_seconds_720p",
        customer=_customer(paying),
        value="4",
        timestamp=int(timezone.now().timestamp()),
    )
    agree, out = _reconcile(capsys)
    assert not agree
    assert f"{paying.slug} seedance_seconds_720p: ledger reported 14 s, Stripe has 18 s (difference -4 s)" in out


def test_ledger_has_more_than_stripe(paying, synced_stripe, capsys):
    # Stripe lost the 9 s event (or it was never really sent), yet the ledger says reported.
    with synced_stripe.lock:
        synced_stripe.meter_events[:] = [e for e in synced_stripe.meter_events if e["payload"]["value"] != "9"]
    agree, out = _reconcile(capsys)
    assert not agree
    assert f"{paying.slug} seedance_seconds_720p: ledger reported 14 s, Stripe has 5 s (difference +9 s)" in out


def test_a_difference_is_reported_on_its_own_meter(paying, synced_stripe, capsys):
    synced_stripe.plant_meter_event(
        event_name="seedance_seconds_1080p",
        customer=_customer(paying),
        value="3",
        timestamp=int(timezone.now().timestamp()),
    )
    agree, out = _reconcile(capsys)
    assert not agree
    differences = [line for line in out.splitlines() if line.startswith("DIFFERENCE")]
    expected = f"{paying.slug} seedance_seconds_1080p: ledger reported 0 s, Stripe has 3 s (difference -3 s)"
    assert f"DIFFERENCE {expected}" in differences
    assert not [line for line in differences if "720p" in line]  # the meter that agrees is not blamed
    # The invoice check sees the same 3 s as money on the 1080p line.
    assert [line for line in differences if "upcoming invoice" in line and "Stripe 3 s $2.06" in line]
