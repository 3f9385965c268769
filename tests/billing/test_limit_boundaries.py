"""Spend limits at their edges: exactly at the limit passes, a cent (or one ledger quantum) over refuses.

Each limit counts only what it should: this organization, this end user, this month, spent plus held.
"""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import services as accounts_services
from billing import selectors, services
from billing.models import AuthorizationState, BillingAccount, SpendAuthorization, Standing, UsageRecord
from seedance_saas.errors import InvalidInput
from tests.factories import OrganizationFactory

# 720p: 10 s = 3.0240, 4 s = 1.2096, 5 s = 1.5120.
SPENT, HELD, NEXT = Decimal("3.0240"), Decimal("1.2096"), Decimal("1.5120")
EXACT = SPENT + HELD + NEXT  # 5.7456
OVER_BY = [Decimal("0.01"), Decimal("0.0001")]  # a cent, and the smallest amount the ledger keeps


def _authorize(organization, *, end_user=None, duration):
    return services.spend_authorize(
        organization=organization, end_user=end_user, source_id=uuid.uuid4(), resolution="720p", duration=duration
    )


def _settle(authorization, *, completed_at=None):
    return services.usage_record_create(
        source_id=authorization.source_id, measured_seconds=None, completed_at=completed_at or timezone.now()
    )


def _activate(organization):
    BillingAccount.objects.filter(organization=organization).update(standing=Standing.ACTIVE)


def _spend_and_hold(organization, *, end_user=None):
    """3.0240 spent this month and 1.2096 held in flight: 4.2336 committed."""
    _settle(_authorize(organization, end_user=end_user, duration=10))
    _authorize(organization, end_user=end_user, duration=4)


def _busy_neighbour():
    """Another organization that spent and holds a lot this month, on the trial and as a paying account."""
    other = OrganizationFactory()
    _settle(_authorize(other, duration=15))  # trial: 4.536 of its credit
    _activate(other)
    for _ in range(3):
        _settle(_authorize(other, duration=15))
        _authorize(other, duration=15)
    return other


# --- the organization's monthly limit ------------------------------------------------------------


def test_organization_limit_exactly_reached_passes(organization):
    _activate(organization)
    _spend_and_hold(organization)
    services.billing_account_set_limit(organization=organization, monthly_spend_limit=EXACT)
    authorization = _authorize(organization, duration=5)
    assert authorization.amount == NEXT
    summary = selectors.spend_summary(organization=organization)
    assert summary.spent + summary.authorized == summary.limit and summary.remaining == 0


@pytest.mark.parametrize("over_by", OVER_BY)
def test_organization_limit_passed_by_the_smallest_amount_refuses(organization, over_by):
    _activate(organization)
    _spend_and_hold(organization)
    services.billing_account_set_limit(organization=organization, monthly_spend_limit=EXACT - over_by)
    with pytest.raises(services.SpendLimitReached):
        _authorize(organization, duration=5)
    assert SpendAuthorization.objects.filter(organization=organization, state=AuthorizationState.HELD).count() == 1


def test_a_zero_limit_refuses_everything(organization):
    _activate(organization)
    services.billing_account_set_limit(organization=organization, monthly_spend_limit=Decimal("0"))
    with pytest.raises(services.SpendLimitReached):
        _authorize(organization, duration=4)


def test_no_limit_means_no_cap(organization):
    _activate(organization)
    services.billing_account_set_limit(organization=organization, monthly_spend_limit=Decimal("1"))
    services.billing_account_set_limit(organization=organization, monthly_spend_limit=None)
    for _ in range(5):
        _authorize(organization, duration=15)


def test_a_negative_limit_is_refused(organization):
    with pytest.raises(InvalidInput) as info:
        services.billing_account_set_limit(organization=organization, monthly_spend_limit=Decimal("-0.01"))
    assert "monthly_spend_limit" in info.value.fields
    assert selectors.billing_account(organization=organization).monthly_spend_limit is None


def test_another_organizations_spend_and_holds_do_not_count(organization):
    _busy_neighbour()
    _activate(organization)
    _spend_and_hold(organization)
    services.billing_account_set_limit(organization=organization, monthly_spend_limit=EXACT)
    _authorize(organization, duration=5)  # the neighbour's 40 dollars are not ours
    summary = selectors.spend_summary(organization=organization)
    assert (summary.spent, summary.authorized) == (SPENT, HELD + NEXT)


def test_last_months_spend_does_not_count(organization):
    _activate(organization)
    last_month = timezone.now().replace(day=1) - timedelta(days=3)
    _settle(_authorize(organization, duration=15), completed_at=last_month)
    _spend_and_hold(organization)
    services.billing_account_set_limit(organization=organization, monthly_spend_limit=EXACT)
    _authorize(organization, duration=5)
    assert UsageRecord.objects.filter(organization=organization).count() == 2


def test_settled_and_released_holds_do_not_count_twice(organization):
    _activate(organization)
    _spend_and_hold(organization)
    released = _authorize(organization, duration=15)
    services.spend_release(source_id=released.source_id, reason="failed")
    services.billing_account_set_limit(organization=organization, monthly_spend_limit=EXACT)
    _authorize(organization, duration=5)


def test_refunds_give_room_back(organization, user):
    _activate(organization)
    record = _settle(_authorize(organization, duration=15))
    services.usage_refund(usage_record=record, amount=None, reason="blurry", actor=user)
    services.billing_account_set_limit(organization=organization, monthly_spend_limit=NEXT)
    _authorize(organization, duration=5)


# --- an end user's monthly limit -----------------------------------------------------------------


@pytest.fixture
def alice(organization):
    _activate(organization)
    return accounts_services.end_user_for_partner(organization=organization, external_id="alice")


def test_end_user_limit_exactly_reached_passes(organization, alice):
    _spend_and_hold(organization, end_user=alice)
    accounts_services.end_user_update(end_user=alice, monthly_spend_limit=EXACT)
    _authorize(organization, end_user=alice, duration=5)


@pytest.mark.parametrize("over_by", OVER_BY)
def test_end_user_limit_passed_by_the_smallest_amount_refuses(organization, alice, over_by):
    _spend_and_hold(organization, end_user=alice)
    accounts_services.end_user_update(end_user=alice, monthly_spend_limit=EXACT - over_by)
    with pytest.raises(services.EndUserLimitReached) as info:
        _authorize(organization, end_user=alice, duration=5)
    assert info.value.status_code == 402


def test_end_user_limit_counts_only_that_end_users_usage(organization, alice):
    bob = accounts_services.end_user_for_partner(organization=organization, external_id="bob")
    _spend_and_hold(organization, end_user=bob)
    _spend_and_hold(organization)  # usage with no end user
    _spend_and_hold(organization, end_user=alice)
    accounts_services.end_user_update(end_user=alice, monthly_spend_limit=EXACT)
    _authorize(organization, end_user=alice, duration=5)
    with pytest.raises(services.EndUserLimitReached):
        _authorize(organization, end_user=alice, duration=4)
    _authorize(organization, end_user=bob, duration=15)  # bob has no limit


def test_end_user_limit_ignores_last_month(organization, alice):
    last_month = timezone.now().replace(day=1) - timedelta(days=3)
    _settle(_authorize(organization, end_user=alice, duration=15), completed_at=last_month)
    _spend_and_hold(organization, end_user=alice)
    accounts_services.end_user_update(end_user=alice, monthly_spend_limit=EXACT)
    _authorize(organization, end_user=alice, duration=5)


def test_end_user_limit_read_fresh_at_authorization(organization, alice):
    """The limit an admin set a moment ago applies, even to an EndUser object loaded before the change."""
    stale = accounts_services.end_user_for_partner(organization=organization, external_id="alice")
    accounts_services.end_user_update(end_user=alice, monthly_spend_limit=Decimal("1"))
    with pytest.raises(services.EndUserLimitReached):
        _authorize(organization, end_user=stale, duration=5)


def test_the_organization_limit_still_applies_to_an_end_user_with_room(organization, alice):
    accounts_services.end_user_update(end_user=alice, monthly_spend_limit=Decimal("100"))
    services.billing_account_set_limit(organization=organization, monthly_spend_limit=NEXT - Decimal("0.0001"))
    with pytest.raises(services.SpendLimitReached):
        _authorize(organization, end_user=alice, duration=5)


def test_an_end_user_of_another_organization_is_refused(organization, other_organization):
    stranger = accounts_services.end_user_for_partner(organization=other_organization, external_id="mallory")
    with pytest.raises(InvalidInput):
        _authorize(organization, end_user=stranger, duration=5)


# --- the trial credit ----------------------------------------------------------------------------


def _set_trial_credit(organization, credit):
    BillingAccount.objects.filter(organization=organization).update(trial_credit=credit)


def test_trial_credit_exactly_used_passes(organization):
    _spend_and_hold(organization)
    _set_trial_credit(organization, EXACT)
    authorization = _authorize(organization, duration=5)
    assert authorization.covered_by_trial
    assert selectors.spend_summary(organization=organization).trial_credit_left == 0


@pytest.mark.parametrize("over_by", OVER_BY)
def test_trial_credit_passed_by_the_smallest_amount_refuses(organization, over_by):
    _spend_and_hold(organization)
    _set_trial_credit(organization, EXACT - over_by)
    with pytest.raises(services.TrialExhausted) as info:
        _authorize(organization, duration=5)
    assert f"${(EXACT - over_by - SPENT - HELD).quantize(Decimal('0.01'))} left" in info.value.message


def test_trial_credit_counts_all_months_but_only_this_organization(organization):
    _busy_neighbour()
    last_month = timezone.now().replace(day=1) - timedelta(days=3)
    _settle(_authorize(organization, duration=10), completed_at=last_month)  # the trial never resets
    _authorize(organization, duration=4)
    _set_trial_credit(organization, EXACT)
    _authorize(organization, duration=5)
    with pytest.raises(services.TrialExhausted):
        _authorize(organization, duration=4)


def test_an_active_account_does_not_draw_on_the_trial(organization):
    _set_trial_credit(organization, Decimal("0"))
    _activate(organization)
    authorization = _authorize(organization, duration=15)
    assert not authorization.covered_by_trial
