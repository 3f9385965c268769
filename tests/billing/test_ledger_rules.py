"""The ledger's month and its hand-off to Stripe in detail (from mutation testing)."""

import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.utils import timezone

from billing import services
from billing.models import BillingAccount, Standing


@pytest.mark.parametrize(
    ("moment", "period"),
    [
        (datetime(2026, 11, 15, 12, tzinfo=UTC), date(2026, 11, 1)),
        (datetime(2026, 11, 1, 0, 0, tzinfo=UTC), date(2026, 11, 1)),
        (datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC), date(2026, 11, 1)),
        # 20:30 on 30 November in New York is already 1 December in UTC.
        (datetime(2026, 11, 30, 20, 30, tzinfo=dt_timezone(timedelta(hours=-5))), date(2026, 12, 1)),
    ],
)
def test_the_period_is_the_utc_calendar_month(moment, period, monkeypatch):
    monkeypatch.setenv("TZ", "America/Los_Angeles")  # the machine's own zone must not matter
    time.tzset()
    try:
        assert services.period_start(moment) == period
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(("standing", "reports"), [(Standing.TRIAL, 0), (Standing.ACTIVE, 1)])
def test_only_paying_usage_is_handed_to_stripe(
    organization, settings, django_capture_on_commit_callbacks, standing, reports
):
    settings.STRIPE_API_KEY = "sk_test_not_called"
    BillingAccount.objects.filter(organization=organization).update(standing=standing)
    authorization = services.spend_authorize(
        organization=organization, end_user=None, source_id=uuid.uuid4(), resolution="480p", duration=4
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.usage_record_create(
            source_id=authorization.source_id, measured_seconds=None, completed_at=timezone.now()
        )
    assert len(callbacks) == reports
