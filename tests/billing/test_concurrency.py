"""Twenty concurrent authorizations against a nearly spent limit or trial cannot overshoot it (PostgreSQL row locks)."""

import uuid
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from billing import selectors, services
from billing.models import AuthorizationState, BillingAccount, SpendAuthorization, Standing
from tests.concurrency import run_at_once
from tests.factories import OrganizationFactory


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_creates_cannot_overshoot_the_limit():
    organization = OrganizationFactory()
    BillingAccount.objects.filter(organization=organization).update(standing=Standing.ACTIVE)
    services.billing_account_set_limit(organization=organization, monthly_spend_limit=Decimal("10"))
    for _ in range(2):  # 720p x 10 s = 3.024 each: 6.048 spent, room for exactly one more
        authorization = services.spend_authorize(
            organization=organization, end_user=None, source_id=uuid.uuid4(), resolution="720p", duration=10
        )
        services.usage_record_create(
            source_id=authorization.source_id, measured_seconds=None, completed_at=timezone.now()
        )

    def authorize() -> str:
        with transaction.atomic():
            services.spend_authorize(
                organization=organization, end_user=None, source_id=uuid.uuid4(), resolution="720p", duration=10
            )
        return "ok"

    results = run_at_once(authorize, threads=20)
    outcomes = ["refused" if isinstance(result, services.SpendLimitReached) else result for result in results]
    assert sorted(outcomes) == ["ok"] + ["refused"] * 19
    held = SpendAuthorization.objects.filter(organization=organization, state=AuthorizationState.HELD)
    assert held.count() == 1
    summary = selectors.spend_summary(organization=organization)
    assert (summary.spent, summary.authorized) == (Decimal("6.048"), Decimal("3.024"))
    assert summary.spent + summary.authorized <= summary.limit


def _racing_authorizations(organization, *, end_user=None, threads=20) -> list:
    def authorize() -> str:
        with transaction.atomic():
            services.spend_authorize(
                organization=organization, end_user=end_user, source_id=uuid.uuid4(), resolution="720p", duration=10
            )
        return "ok"

    return run_at_once(authorize, threads=threads)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_creates_cannot_overshoot_an_end_users_limit():
    from accounts import services as accounts_services

    organization = OrganizationFactory()
    BillingAccount.objects.filter(organization=organization).update(standing=Standing.ACTIVE)
    alice = accounts_services.end_user_for_partner(organization=organization, external_id="alice")
    accounts_services.end_user_update(end_user=alice, monthly_spend_limit=Decimal("10"))  # room for three 3.024 jobs

    results = _racing_authorizations(organization, end_user=alice)
    outcomes = ["refused" if isinstance(result, services.EndUserLimitReached) else result for result in results]
    assert sorted(outcomes) == ["ok"] * 3 + ["refused"] * 17
    held = SpendAuthorization.objects.filter(end_user=alice, state=AuthorizationState.HELD)
    assert sum(a.amount for a in held) == Decimal("9.072")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_creates_cannot_overshoot_the_trial_credit():
    organization = OrganizationFactory()  # trial, $5: room for one 3.024 job
    results = _racing_authorizations(organization)
    outcomes = ["refused" if isinstance(result, services.TrialExhausted) else result for result in results]
    assert sorted(outcomes) == ["ok"] + ["refused"] * 19
    assert services.trial_committed(organization=organization) == Decimal("3.024")
