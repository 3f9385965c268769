"""Twenty racing creates against room for exactly three: three pass, for an end user's limit and for the trial."""

import uuid
from decimal import Decimal

import pytest
from django.db import transaction

from accounts import services as accounts_services
from billing import selectors, services
from billing.models import AuthorizationState, BillingAccount, SpendAuthorization, Standing
from tests.concurrency import run_at_once
from tests.factories import OrganizationFactory

# 720p x 10 s = 3.024; three of them fill the room exactly.
ROOM_FOR_THREE = Decimal("9.0720")


def _race(organization, *, end_user=None) -> list:
    def authorize() -> str:
        with transaction.atomic():
            services.spend_authorize(
                organization=organization, end_user=end_user, source_id=uuid.uuid4(), resolution="720p", duration=10
            )
        return "ok"

    return run_at_once(authorize, threads=20)


def _held(organization, **filters):
    return SpendAuthorization.objects.filter(organization=organization, state=AuthorizationState.HELD, **filters)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_racing_creates_fill_an_end_users_limit_exactly():
    organization = OrganizationFactory()
    BillingAccount.objects.filter(organization=organization).update(standing=Standing.ACTIVE)
    alice = accounts_services.end_user_for_partner(organization=organization, external_id="alice")
    accounts_services.end_user_update(end_user=alice, monthly_spend_limit=ROOM_FOR_THREE)

    results = _race(organization, end_user=alice)

    outcomes = ["refused" if isinstance(r, services.EndUserLimitReached) else r for r in results]
    assert sorted(outcomes) == ["ok"] * 3 + ["refused"] * 17
    assert _held(organization, end_user=alice).count() == 3
    assert services.amount_total(_held(organization, end_user=alice)) == ROOM_FOR_THREE


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_racing_creates_fill_the_trial_credit_exactly():
    organization = OrganizationFactory()
    BillingAccount.objects.filter(organization=organization).update(trial_credit=ROOM_FOR_THREE)

    results = _race(organization)

    outcomes = ["refused" if isinstance(r, services.TrialExhausted) else r for r in results]
    assert sorted(outcomes) == ["ok"] * 3 + ["refused"] * 17
    assert _held(organization, covered_by_trial=True).count() == 3
    assert selectors.spend_summary(organization=organization).trial_credit_left == 0
