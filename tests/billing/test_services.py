"""Standing, limits, authorizations, settlement, refunds and the summaries built on them."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import services as accounts_services
from billing import selectors, services
from billing.models import AuthorizationState, BillingAccount, ReportState, Standing, StripeAdjustment, UsageRecord
from seedance_saas.errors import Conflict, InvalidInput, PaymentRequired
from tests.factories import OrganizationFactory


def _authorize(organization, *, end_user=None, resolution="720p", duration=10):
    return services.spend_authorize(
        organization=organization, end_user=end_user, source_id=uuid.uuid4(), resolution=resolution, duration=duration
    )


def _complete(authorization, measured=None):
    return services.usage_record_create(
        source_id=authorization.source_id, measured_seconds=measured, completed_at=timezone.now()
    )


def _activate(organization):
    BillingAccount.objects.filter(organization=organization).update(standing=Standing.ACTIVE)


def test_a_new_organization_gets_a_trial_account_on_the_default_plan(organization, settings):
    account = selectors.billing_account(organization=organization)
    assert account.standing == Standing.TRIAL
    assert account.trial_credit == settings.TRIAL_CREDIT_USD == Decimal("5")
    assert account.plan.is_default and account.plan.price_720p == Decimal("0.3024")
    assert account.stripe_customer_id == ""  # ledger-only: no Stripe customer


def test_trial_credit_pays_until_it_runs_out(organization):
    # 720p x 15 s = 4.5360; the second would need 4.5360 more with only 0.4640 left.
    first = _authorize(organization, duration=15)
    assert first.covered_by_trial
    with pytest.raises(services.TrialExhausted) as info:
        _authorize(organization, duration=15)
    assert info.value.code == "trial_exhausted" and info.value.status_code == 402
    assert "Subscribe" in info.value.message
    with pytest.raises(services.TrialExhausted):
        _authorize(organization, resolution="480p", duration=4)  # 0.5648 > 0.4640 left
    assert selectors.spend_summary(organization=organization).trial_credit_left == Decimal("0.464")


def test_failed_jobs_cost_nothing_and_release_the_trial(organization):
    authorization = _authorize(organization, duration=15)
    services.spend_release(source_id=authorization.source_id, reason="failed upstream")
    services.spend_release(source_id=authorization.source_id, reason="again")  # idempotent
    authorization.refresh_from_db()
    assert authorization.state == AuthorizationState.RELEASED and authorization.reason == "failed upstream"
    assert selectors.spend_summary(organization=organization).trial_credit_left == Decimal("5")
    assert not UsageRecord.objects.exists()
    with pytest.raises(Conflict):
        _complete(authorization)


@pytest.mark.parametrize(("standing", "phrase"), [("past_due", "payment failed"), ("canceled", "canceled")])
def test_past_due_and_canceled_are_refused(organization, standing, phrase):
    BillingAccount.objects.filter(organization=organization).update(standing=standing)
    with pytest.raises(PaymentRequired) as info:
        _authorize(organization)
    assert info.value.code == "payment_required" and phrase in info.value.message


def test_monthly_limit_counts_spent_and_in_flight(organization):
    _activate(organization)
    services.billing_account_set_limit(organization=organization, monthly_spend_limit=Decimal("10"))
    spent = _authorize(organization, duration=10)  # 3.024
    _complete(spent)
    _authorize(organization, duration=10)  # 3.024 in flight
    _authorize(organization, duration=10)  # 9.072 committed
    with pytest.raises(services.SpendLimitReached) as info:
        _authorize(organization, duration=4)  # 1.2096 more would pass 10
    assert info.value.code == "spend_limit_reached" and "raise the limit" in info.value.message
    summary = selectors.spend_summary(organization=organization)
    assert (summary.spent, summary.authorized, summary.limit) == (Decimal("3.024"), Decimal("6.048"), Decimal("10"))
    assert summary.remaining == Decimal("0.928")


def test_end_user_limit_and_block(organization):
    _activate(organization)
    alice = accounts_services.end_user_for_partner(organization=organization, external_id="alice")
    bob = accounts_services.end_user_for_partner(organization=organization, external_id="bob")
    accounts_services.end_user_update(end_user=alice, monthly_spend_limit=Decimal("4"))
    _authorize(organization, end_user=alice, duration=10)
    with pytest.raises(services.EndUserLimitReached) as info:
        _authorize(organization, end_user=alice, duration=4)
    assert info.value.code == "end_user_limit_reached"
    _authorize(organization, end_user=bob, duration=15)  # bob has no limit
    accounts_services.end_user_update(end_user=bob, blocked=True)
    with pytest.raises(services.EndUserBlocked) as info:
        _authorize(organization, end_user=bob, duration=4)
    assert info.value.code == "end_user_blocked"


def test_authorize_is_idempotent_per_source(organization):
    source_id = uuid.uuid4()
    first = services.spend_authorize(
        organization=organization, end_user=None, source_id=source_id, resolution="480p", duration=5
    )
    again = services.spend_authorize(
        organization=organization, end_user=None, source_id=source_id, resolution="480p", duration=5
    )
    assert first.pk == again.pk


def test_settle_writes_one_record_with_sell_price_and_cost(organization):
    _activate(organization)
    plan = selectors.billing_account(organization=organization).plan
    plan.price_1080p = Decimal("0.9000")
    plan.save()
    end_user = accounts_services.end_user_default(organization=organization)
    authorization = _authorize(organization, end_user=end_user, resolution="1080p", duration="auto")
    assert authorization.amount == Decimal("13.5")  # authorized at 15 s
    record = _complete(authorization, measured=7.2)
    again = _complete(authorization, measured=9.9)
    assert again.pk == record.pk and UsageRecord.objects.count() == 1
    assert (record.seconds, record.unit_price, record.amount) == (8, Decimal("0.9"), Decimal("7.2"))
    assert record.provider_cost == Decimal("5.48")  # 8 x 0.685
    assert record.end_user == end_user and record.organization == organization
    assert record.report_state == ReportState.PENDING and not record.covered_by_trial
    authorization.refresh_from_db()
    assert authorization.state == AuthorizationState.SETTLED
    assert selectors.spend_summary(organization=organization).authorized == 0


def test_auto_never_bills_past_the_quoted_maximum(organization):
    record = _complete(_authorize(organization, resolution="480p", duration="auto"), measured=15.2)
    assert record.seconds == 15 and record.report_state == ReportState.TRIAL


def test_records_are_append_only(organization):
    record = _complete(_authorize(organization, duration=4))
    record.amount = Decimal("0")
    with pytest.raises(ValueError):
        record.save()


def test_refund_is_an_adjustment_with_a_reason(organization, user):
    record = _complete(_authorize(organization, duration=10))  # trial, 3.024
    with pytest.raises(InvalidInput):
        services.usage_refund(usage_record=record, amount=None, reason=" ", actor=user)
    part = services.usage_refund(usage_record=record, amount=Decimal("1"), reason="blurry", actor=user)
    assert (part.kind, part.amount, part.adjusts, part.created_by) == ("refund", Decimal("-1"), record, user)
    with pytest.raises(InvalidInput):
        services.usage_refund(usage_record=record, amount=Decimal("2.5"), reason="too much", actor=user)
    rest = services.usage_refund(usage_record=record, amount=None, reason="the rest", actor=user)
    assert rest.amount == Decimal("-2.024")
    assert selectors.spend_summary(organization=organization).spent == 0
    assert selectors.spend_summary(organization=organization).trial_credit_left == Decimal("5")
    record.refresh_from_db()
    assert record.amount == Decimal("3.024")  # the original never changes


def test_full_refund_before_reporting_keeps_it_out_of_stripe(organization, user):
    _activate(organization)
    record = _complete(_authorize(organization, duration=5))
    refund = services.usage_refund(usage_record=record, amount=None, reason="duplicate job", actor=user)
    record.refresh_from_db()
    assert record.report_state == ReportState.NOT_REPORTED and refund.flagged_at is None


def test_refund_of_reported_usage_waits_for_its_stripe_adjustment(organization, user):
    """Stripe holds the usage: the refund is settled there automatically (tests/billing/test_refunds.py)."""
    _activate(organization)
    record = _complete(_authorize(organization, duration=5))
    UsageRecord.objects.filter(pk=record.pk).update(report_state=ReportState.REPORTED)
    refund = services.usage_refund(usage_record=record, amount=None, reason="bad output", actor=user)
    assert refund.stripe_adjustment == StripeAdjustment.PENDING and refund.flagged_at is None


def test_usage_summary_groups(organization, other_organization):
    _activate(organization)
    alice = accounts_services.end_user_for_partner(organization=organization, external_id="alice")
    _complete(_authorize(organization, end_user=alice, resolution="480p", duration=4))
    _complete(_authorize(organization, end_user=alice, resolution="720p", duration=5))
    _complete(_authorize(organization, resolution="720p", duration=6))
    _complete(_authorize(other_organization, resolution="720p", duration=15))
    start, end = timezone.now() - timedelta(days=1), timezone.now() + timedelta(days=1)
    by_res = selectors.usage_summary(organization=organization, start=start, end=end, group_by="resolution")
    assert by_res.seconds == 15 and by_res.count == 3
    assert [(g["key"], g["seconds"]) for g in by_res.groups] == [("480p", 4), ("720p", 11)]
    assert by_res.amount == Decimal("0.5648") + Decimal("3.3264")
    by_user = selectors.usage_summary(organization=organization, start=start, end=end, group_by="end_user")
    assert {g["key"]: g["seconds"] for g in by_user.groups} == {"alice": 9, None: 6}
    by_day = selectors.usage_summary(organization=organization, start=start.date(), end=end.date(), group_by="day")
    assert [g["key"] for g in by_day.groups] == [datetime.now(UTC).date()]
    with pytest.raises(InvalidInput):
        selectors.usage_summary(organization=organization, start=start, end=end, group_by="video")


def test_organizations_created_before_billing_get_an_account_lazily(organization):
    BillingAccount.objects.filter(organization=organization).delete()
    assert services.quote(organization=organization, resolution="720p", duration=4).max_amount == Decimal("1.2096")
    assert BillingAccount.objects.filter(organization=organization).count() == 1


def test_another_organization_is_not_counted(organization):
    other = OrganizationFactory()
    _complete(_authorize(other, duration=15))
    assert selectors.spend_summary(organization=organization).trial_credit_left == Decimal("5")
