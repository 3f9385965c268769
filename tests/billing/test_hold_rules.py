"""Holds in detail: releasing one touches no other, settling follows the hold (from mutation testing)."""

import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import EndUser
from billing import services
from billing.models import AuthorizationState, BillingAccount, Plan, SpendAuthorization, Standing
from seedance_saas.errors import Conflict, InvalidInput, NotFound


def _authorize(organization, *, duration=4):
    return services.spend_authorize(
        organization=organization, end_user=None, source_id=uuid.uuid4(), resolution="720p", duration=duration
    )


def test_releasing_one_hold_leaves_every_other_held(organization, other_organization):
    mine, sibling, theirs = _authorize(organization), _authorize(organization), _authorize(other_organization)
    services.spend_release(source_id=mine.source_id, reason="failed")
    states = dict(SpendAuthorization.objects.values_list("pk", "state"))
    assert states == {
        mine.pk: AuthorizationState.RELEASED,
        sibling.pk: AuthorizationState.HELD,
        theirs.pk: AuthorizationState.HELD,
    }


def test_a_release_keeps_the_first_200_characters_of_its_reason(organization):
    hold = _authorize(organization)
    services.spend_release(source_id=hold.source_id, reason="r" * 300)
    hold.refresh_from_db()
    assert hold.reason == "r" * 200


def test_settling_closes_the_hold(organization):
    hold = _authorize(organization)
    services.usage_record_create(source_id=hold.source_id, measured_seconds=None, completed_at=timezone.now())
    hold.refresh_from_db()
    assert hold.state == AuthorizationState.SETTLED and hold.closed_at is not None


def test_settling_without_a_hold_or_after_a_release_says_why(organization):
    missing = uuid.uuid4()
    with pytest.raises(NotFound) as info:
        services.usage_record_create(source_id=missing, measured_seconds=None, completed_at=timezone.now())
    assert info.value.message == f"No spend authorization for {missing}."
    hold = _authorize(organization)
    services.spend_release(source_id=hold.source_id, reason="timeout")
    with pytest.raises(Conflict) as info:
        services.usage_record_create(source_id=hold.source_id, measured_seconds=None, completed_at=timezone.now())
    assert info.value.message == f"The authorization of {hold.source_id} was released (timeout); it cannot bill."


def test_the_trial_credit_counts_only_what_the_trial_paid(organization):
    """Usage paid by a subscription never eats the trial credit, even if the account is back on the trial."""
    BillingAccount.objects.filter(organization=organization).update(standing=Standing.ACTIVE)
    paid = _authorize(organization, duration=15)  # 4.536, not covered by the trial
    services.usage_record_create(source_id=paid.source_id, measured_seconds=None, completed_at=timezone.now())
    _authorize(organization, duration=15)  # held, not covered by the trial
    BillingAccount.objects.filter(organization=organization).update(standing=Standing.TRIAL)
    assert services.trial_committed(organization=organization) == 0
    trial_job = _authorize(organization, duration=15)
    assert trial_job.covered_by_trial


def test_another_organizations_trial_holds_do_not_eat_this_trial(organization, other_organization):
    _authorize(other_organization, duration=15)  # 4.536 of the other's trial held
    assert services.trial_committed(organization=organization) == 0
    _authorize(organization, duration=15)
    assert services.trial_committed(organization=organization) == Decimal("4.536")


def test_a_hold_is_priced_by_the_organizations_own_plan(organization):
    premium = Plan.objects.create(
        name="Premium", slug="premium", price_480p="0.2000", price_720p="0.5000", price_1080p="1.0000"
    )
    BillingAccount.objects.filter(organization=organization).update(plan=premium)
    assert _authorize(organization, duration=4).amount == Decimal("2.0000")  # 4 s x $0.50, not the list rate


def test_an_end_user_of_another_organization_is_refused(organization, other_organization):
    stranger = EndUser.objects.create(organization=other_organization, external_id="bob")
    with pytest.raises(InvalidInput) as refused:
        services.spend_authorize(
            organization=organization, end_user=stranger, source_id=uuid.uuid4(), resolution="720p", duration=4
        )
    assert refused.value.message == "The end user belongs to another organization."
    assert not SpendAuthorization.objects.exists()
