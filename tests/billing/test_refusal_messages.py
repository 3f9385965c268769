"""The exact words a refused create gets: each says what happened and what to do (from mutation testing)."""

import uuid
from decimal import Decimal

import pytest

from accounts import services as accounts_services
from billing import services
from billing.models import BillingAccount, Standing


def _authorize(organization, *, end_user=None, duration=5):
    return services.spend_authorize(
        organization=organization, end_user=end_user, source_id=uuid.uuid4(), resolution="720p", duration=duration
    )


def _refusal(organization, **kwargs) -> services.PaymentRequired:
    with pytest.raises(services.PaymentRequired) as info:
        _authorize(organization, **kwargs)
    assert info.value.status_code == 402
    return info.value


def test_trial_exhausted_says_what_is_left_never_below_zero(organization):
    _authorize(organization, duration=4)  # 1.2096 held
    BillingAccount.objects.filter(organization=organization).update(trial_credit=Decimal("1"))  # lowered by hand
    error = _refusal(organization)
    assert error.code == "trial_exhausted"
    assert error.message == (
        "The trial credit has $0.00 left and this job needs up to $1.51. "
        "Subscribe on the billing page to keep generating."
    )


@pytest.mark.parametrize(
    ("standing", "message"),
    [
        (Standing.PAST_DUE, "The last payment failed. Update the payment method in the billing portal to continue."),
        (Standing.CANCELED, "The subscription is canceled. Subscribe again on the billing page to continue."),
    ],
)
def test_a_standing_that_refuses_says_how_to_fix_it(organization, standing, message):
    BillingAccount.objects.filter(organization=organization).update(standing=standing)
    error = _refusal(organization)
    assert (error.code, error.message) == ("payment_required", message)


def test_the_organization_limit_says_how_much_and_who_can_raise_it(organization):
    BillingAccount.objects.filter(organization=organization).update(standing=Standing.ACTIVE)
    services.billing_account_set_limit(organization=organization, monthly_spend_limit=Decimal("2"))
    _authorize(organization, duration=4)  # 1.2096
    error = _refusal(organization)
    assert error.code == "spend_limit_reached"
    assert error.message == (
        "This job (up to $1.51) would pass the monthly spend limit of $2.00 ($1.21 spent or in flight). "
        "An owner or admin can raise the limit on the billing page, or wait for next month."
    )


def test_the_end_user_limit_says_how_much_and_who_can_raise_it(organization):
    BillingAccount.objects.filter(organization=organization).update(standing=Standing.ACTIVE)
    alice = accounts_services.end_user_for_partner(organization=organization, external_id="alice")
    accounts_services.end_user_update(end_user=alice, monthly_spend_limit=Decimal("1.5"))
    error = _refusal(organization, end_user=alice)
    assert error.code == "end_user_limit_reached"
    assert error.message == (
        "This job (up to $1.51) would pass this end user's monthly limit of $1.50. "
        "The organization can raise it, or wait for next month."
    )


def test_a_blocked_end_user_is_told_who_can_unblock(organization):
    alice = accounts_services.end_user_for_partner(organization=organization, external_id="alice")
    accounts_services.end_user_update(end_user=alice, blocked=True)
    error = _refusal(organization, end_user=alice)
    assert (error.code, error.message) == (
        "end_user_blocked",
        "This end user is blocked by the organization; an owner or admin can unblock.",
    )
