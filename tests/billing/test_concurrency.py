"""Twenty concurrent authorizations against a nearly spent limit cannot overshoot it (PostgreSQL row locks)."""

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
