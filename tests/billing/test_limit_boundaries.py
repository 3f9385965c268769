"""Spend limits to the ten-thousandth of a dollar, each counting only what it should: the planted bugs of issue 11
(a limit that lets a cent through, a committed sum without the organization filter, an end user's limit counting
the whole organization) each fail one of these."""

import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import services as accounts_services
from billing import services
from billing.models import BillingAccount, Standing
from tests.factories import OrganizationFactory

TEN_S_720P = Decimal("3.0240")
TEN_THOUSANDTH = Decimal("0.0001")


def _authorize(organization, *, end_user=None):
    return services.spend_authorize(
        organization=organization, end_user=end_user, source_id=uuid.uuid4(), resolution="720p", duration=10
    )


def _spend_and_hold(organization, *, end_user=None):
    """One 10 s job completed (ledger) and one still in flight (hold): 3.024 each."""
    done = _authorize(organization, end_user=end_user)
    services.usage_record_create(source_id=done.source_id, measured_seconds=None, completed_at=timezone.now())
    _authorize(organization, end_user=end_user)


@pytest.fixture
def active_organization(organization):
    BillingAccount.objects.filter(organization=organization).update(standing=Standing.ACTIVE)
    return organization


def test_a_job_costing_exactly_the_room_left_passes_and_a_ten_thousandth_more_does_not(active_organization):
    services.billing_account_set_limit(
        organization=active_organization, monthly_spend_limit=TEN_S_720P - TEN_THOUSANDTH
    )
    with pytest.raises(services.SpendLimitReached):
        _authorize(active_organization)
    services.billing_account_set_limit(organization=active_organization, monthly_spend_limit=TEN_S_720P)
    assert _authorize(active_organization).amount == TEN_S_720P


def test_an_end_users_limit_is_exact_to_the_ten_thousandth(active_organization):
    alice = accounts_services.end_user_for_partner(organization=active_organization, external_id="alice")
    accounts_services.end_user_update(end_user=alice, monthly_spend_limit=TEN_S_720P - TEN_THOUSANDTH)
    with pytest.raises(services.EndUserLimitReached):
        _authorize(active_organization, end_user=alice)
    accounts_services.end_user_update(end_user=alice, monthly_spend_limit=TEN_S_720P)
    assert _authorize(active_organization, end_user=alice).amount == TEN_S_720P


def test_the_trial_credit_is_exact_to_the_ten_thousandth(organization):
    BillingAccount.objects.filter(organization=organization).update(trial_credit=TEN_S_720P - TEN_THOUSANDTH)
    with pytest.raises(services.TrialExhausted):
        _authorize(organization)
    BillingAccount.objects.filter(organization=organization).update(trial_credit=TEN_S_720P)
    assert _authorize(organization).covered_by_trial


def test_another_organizations_spending_and_holds_do_not_count_against_our_limit(active_organization):
    other = OrganizationFactory()
    BillingAccount.objects.filter(organization=other).update(standing=Standing.ACTIVE)
    _spend_and_hold(other)
    services.billing_account_set_limit(organization=active_organization, monthly_spend_limit=TEN_S_720P)
    assert _authorize(active_organization).amount == TEN_S_720P


def test_an_end_users_limit_counts_only_that_end_users_spending_and_holds(active_organization):
    alice = accounts_services.end_user_for_partner(organization=active_organization, external_id="alice")
    bob = accounts_services.end_user_for_partner(organization=active_organization, external_id="bob")
    _spend_and_hold(active_organization, end_user=bob)
    _spend_and_hold(active_organization)  # the organization's own default end user
    accounts_services.end_user_update(end_user=alice, monthly_spend_limit=TEN_S_720P)
    assert _authorize(active_organization, end_user=alice).amount == TEN_S_720P
    with pytest.raises(services.EndUserLimitReached):
        _authorize(active_organization, end_user=alice)  # her own hold now fills her limit
