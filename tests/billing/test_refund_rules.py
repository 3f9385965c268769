"""Refunds in detail: what the adjustment copies, what it refuses, when Stripe is kept out (from mutation testing)."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from accounts import services as accounts_services
from billing import services
from billing.models import BillingAccount, ReportState, Standing, StripeAdjustment, UsageKind, UsageRecord
from seedance_saas.errors import InvalidInput


@pytest.fixture
def paying(organization):
    BillingAccount.objects.filter(organization=organization).update(standing=Standing.ACTIVE)
    return organization


def _record(organization, *, end_user=None, resolution="1080p", duration=10) -> UsageRecord:
    authorization = services.spend_authorize(
        organization=organization, end_user=end_user, source_id=uuid.uuid4(), resolution=resolution, duration=duration
    )
    return services.usage_record_create(
        source_id=authorization.source_id, measured_seconds=None, completed_at=timezone.now()
    )


def _refused(**kwargs) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        services.usage_refund(**kwargs)
    return info.value


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_refund_without_a_reason_is_refused_with_the_field_named(paying, user, reason):
    record = _record(paying)
    error = _refused(usage_record=record, amount=None, reason=reason, actor=user)
    assert error.message == "A refund needs a reason."
    assert error.fields == {"reason": ["This field is required."]}
    assert not record.adjustments.exists()


def test_a_refund_of_a_refund_is_refused(paying, user):
    refund = services.usage_refund(usage_record=_record(paying), amount=Decimal("1"), reason="blur", actor=user)
    error = _refused(usage_record=refund, amount=None, reason="again", actor=user)
    assert error.message == "Only usage can be refunded, not an adjustment."


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-1"), Decimal("6.8501")])
def test_a_refund_outside_what_is_left_is_refused(paying, user, amount):
    record = _record(paying)  # 1080p x 10 s = 6.85
    error = _refused(usage_record=record, amount=amount, reason="blur", actor=user)
    assert error.message == "Refund between $0.0001 and $6.8500 (what is left of this record)."
    assert error.fields == {"amount": ["Use more than 0 and at most 6.8500."]}
    assert not record.adjustments.exists()


def test_a_full_refund_mirrors_the_record(paying, user):
    alice = accounts_services.end_user_for_partner(organization=paying, external_id="alice")
    record = _record(paying, end_user=alice)
    refund = services.usage_refund(usage_record=record, amount=None, reason="x" * 400, actor=user)
    refund.refresh_from_db()
    assert refund.kind == UsageKind.REFUND and refund.adjusts_id == record.pk
    assert (refund.organization_id, refund.end_user_id) == (paying.pk, alice.pk)
    assert (refund.resolution, refund.currency, refund.period) == ("1080p", "usd", record.period)
    assert (refund.seconds, refund.amount, refund.unit_price) == (-10, Decimal("-6.85"), record.unit_price)
    assert refund.provider_cost == 0 and refund.report_state == ReportState.NOT_REPORTED
    assert refund.reason == "x" * 300 and refund.created_by == user


def test_a_partial_refund_gives_money_back_but_no_seconds(paying, user):
    record = _record(paying)
    refund = services.usage_refund(usage_record=record, amount=Decimal("1.5"), reason="blur", actor=user)
    assert (refund.seconds, refund.amount) == (0, Decimal("-1.5"))
    rest = services.usage_refund(usage_record=record, amount=None, reason="rest", actor=user)
    assert (rest.seconds, rest.amount) == (0, Decimal("-5.35"))  # the rest is not the whole record


@pytest.mark.parametrize("actor", [None, AnonymousUser()])
def test_a_refund_by_the_system_has_no_author(paying, actor):
    refund = services.usage_refund(usage_record=_record(paying), amount=None, reason="script", actor=actor)
    assert refund.created_by is None


def test_a_full_refund_before_any_report_keeps_only_that_record_out_of_stripe(paying, user):
    record, neighbour = _record(paying), _record(paying)
    refund = services.usage_refund(usage_record=record, amount=None, reason="duplicate", actor=user)
    record.refresh_from_db()
    neighbour.refresh_from_db()
    assert record.report_state == ReportState.NOT_REPORTED
    assert record.last_report_error == "Refunded before it was reported."
    assert refund.flagged_at is None
    assert neighbour.report_state == ReportState.PENDING and neighbour.last_report_error == ""


def test_a_refund_after_a_report_attempt_is_settled_in_stripe(paying, user):
    record = _record(paying)
    UsageRecord.objects.filter(pk=record.pk).update(report_attempts=1)  # sent once; Stripe may have it
    refund = services.usage_refund(usage_record=record, amount=None, reason="bad output", actor=user)
    record.refresh_from_db()
    assert record.report_state == ReportState.PENDING
    assert refund.stripe_adjustment == StripeAdjustment.PENDING and refund.flagged_at is None


def test_a_refund_while_a_retry_is_scheduled_is_settled_in_stripe(paying, user):
    record = _record(paying)
    UsageRecord.objects.filter(pk=record.pk).update(next_report_at=timezone.now() + timedelta(minutes=5))
    refund = services.usage_refund(usage_record=record, amount=None, reason="bad output", actor=user)
    assert refund.stripe_adjustment == StripeAdjustment.PENDING


def test_a_partial_refund_of_unreported_usage_is_settled_in_stripe_later(paying, user):
    record = _record(paying)
    refund = services.usage_refund(usage_record=record, amount=Decimal("1"), reason="blur", actor=user)
    record.refresh_from_db()
    assert record.report_state == ReportState.PENDING  # the usage still goes to Stripe whole
    assert refund.stripe_adjustment == StripeAdjustment.PENDING


def test_a_trial_refund_never_needs_a_credit_note(organization, user):
    record = _record(organization, resolution="480p", duration=5)
    refund = services.usage_refund(usage_record=record, amount=Decimal("0.1"), reason="blur", actor=user)
    assert refund.covered_by_trial and refund.flagged_at is None and refund.last_report_error == ""
    assert refund.stripe_adjustment == StripeAdjustment.NOT_NEEDED
