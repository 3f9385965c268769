"""Operator and account selectors at their edges (from surviving mutants)."""

import pytest

from billing import selectors
from billing.models import BillingAccount, Standing, TrialStatus
from tests.factories import OrganizationFactory


def _active(**fields) -> BillingAccount:
    organization = OrganizationFactory()
    BillingAccount.objects.filter(organization=organization).update(standing=Standing.ACTIVE, **fields)
    return BillingAccount.objects.get(organization=organization)


def test_only_active_accounts_no_subscription_invoices_are_listed():
    invoiced = _active(stripe_subscription_id="sub_1", subscription_status="active")
    trialing = _active(stripe_subscription_id="sub_2", subscription_status="trialing")
    no_subscription = _active(stripe_subscription_id="", subscription_status="")
    status_without_id = _active(stripe_subscription_id="", subscription_status="active")
    canceled = _active(stripe_subscription_id="sub_3", subscription_status="canceled")
    listed = set(selectors.billing_accounts_not_invoiced().values_list("pk", flat=True))
    assert listed == {no_subscription.pk, status_without_id.pk, canceled.pk}
    assert not listed & {invoiced.pk, trialing.pk}


@pytest.mark.parametrize("status", [TrialStatus.AWAITING_VERIFICATION, TrialStatus.ALREADY_USED])
def test_a_locked_trial_has_nothing_left_to_spend(organization, status):
    BillingAccount.objects.filter(organization=organization).update(trial_status=status)
    assert selectors.spend_summary(organization=organization).trial_credit_left == 0
