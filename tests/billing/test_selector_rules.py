"""Billing reads in detail: plan prices per organization, UTC periods, range edges, the unreported backlog.

Written against mutants that survived the rest of the suite.
"""

import uuid
import warnings
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from billing import selectors, services
from billing.models import BillingAccount, Plan, ReportState, Standing, UsageRecord
from seedance_saas.errors import InvalidInput


def _record(organization, *, completed_at, duration=4) -> UsageRecord:
    BillingAccount.objects.filter(organization=organization).update(standing=Standing.ACTIVE)
    authorization = services.spend_authorize(
        organization=organization, end_user=None, source_id=uuid.uuid4(), resolution="720p", duration=duration
    )
    return services.usage_record_create(
        source_id=authorization.source_id, measured_seconds=None, completed_at=completed_at
    )


def test_the_price_list_of_an_organization_is_its_own_plan(organization):
    premium = Plan.objects.create(
        name="Premium", slug="premium", price_480p=Decimal("0.2"), price_720p=Decimal("0.4"), price_1080p=Decimal("1")
    )
    BillingAccount.objects.filter(organization=organization).update(plan=premium)
    assert selectors.price_list(organization=organization) == {
        "480p": Decimal("0.2"),
        "720p": Decimal("0.4"),
        "1080p": Decimal("1"),
    }
    assert selectors.price_list()["720p"] == Decimal("0.3024")


def test_a_negative_limit_says_so(organization):
    with pytest.raises(InvalidInput) as info:
        services.billing_account_set_limit(organization=organization, monthly_spend_limit=Decimal("-1"))
    assert info.value.message == "A spend limit cannot be negative."
    assert info.value.fields == {"monthly_spend_limit": ["Use 0 or more."]}


def test_a_bad_grouping_names_the_choices(organization):
    now = timezone.now()
    with pytest.raises(InvalidInput) as info:
        selectors.usage_summary(organization=organization, start=now, end=now, group_by="video")
    assert info.value.message == "group_by must be one of resolution, end_user, day."
    assert info.value.fields == {"group_by": ["resolution", "end_user", "day"]}


def test_summary_range_is_start_inclusive_end_exclusive(organization):
    start = datetime(2026, 11, 10, tzinfo=UTC)
    end = datetime(2026, 11, 11, tzinfo=UTC)
    with timezone.override(UTC):
        for moment in (start - timedelta(seconds=1), start, end - timedelta(seconds=1), end):
            UsageRecord.objects.create(
                organization=organization,
                resolution="720p",
                seconds=4,
                unit_price=Decimal("0.3024"),
                amount=Decimal("1.2096"),
                provider_cost=Decimal("1.2096"),
                period=moment.date().replace(day=1),
                completed_at=moment,
            )
    summary = selectors.usage_summary(organization=organization, start=start, end=end, group_by="resolution")
    assert (summary.count, summary.seconds, summary.amount) == (2, 8, Decimal("2.4192"))
    assert (summary.start, summary.end, summary.group_by) == (start, end, "resolution")


def test_an_empty_summary_is_zero_dollars_as_a_decimal(organization):
    now = timezone.now()
    summary = selectors.usage_summary(organization=organization, start=now, end=now, group_by="day")
    assert summary.amount == 0 and isinstance(summary.amount, Decimal)
    assert (summary.seconds, summary.count, summary.groups) == (0, 0, [])


def test_days_are_utc_days_whatever_the_active_time_zone(organization):
    late = datetime.now(UTC).replace(hour=23, minute=30, second=0, microsecond=0) - timedelta(days=1)
    _record(organization, completed_at=late)
    with timezone.override(ZoneInfo("Pacific/Auckland")):  # already tomorrow there
        summary = selectors.usage_summary(
            organization=organization, start=late.date(), end=late.date() + timedelta(days=2), group_by="day"
        )
    assert [g["key"] for g in summary.groups] == [late.date()]


def test_dates_and_naive_times_are_read_as_utc_and_aware_times_keep_their_zone(organization):
    moment = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
    record = _record(organization, completed_at=moment)
    plus_two = ZoneInfo("Etc/GMT-2")  # UTC+2
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a naive datetime reaching the ORM warns; none may
        assert list(selectors.usage_record_list(organization=organization, start=moment.date())) == [record]
        naive = moment.replace(tzinfo=None)
        assert list(selectors.usage_record_list(organization=organization, start=naive)) == [record]
        assert not selectors.usage_record_list(organization=organization, start=naive + timedelta(seconds=1))
        aware = (moment - timedelta(hours=1)).astimezone(plus_two)  # 13:00+02:00 is 11:00 UTC
        assert list(selectors.usage_record_list(organization=organization, start=aware)) == [record]
        assert not selectors.usage_record_list(organization=organization, end=aware)


def test_the_ledger_list_loads_end_users_in_the_same_query(organization, django_assert_num_queries):
    from accounts import services as accounts_services

    alice = accounts_services.end_user_for_partner(organization=organization, external_id="alice")
    BillingAccount.objects.filter(organization=organization).update(standing=Standing.ACTIVE)
    for _ in range(3):
        authorization = services.spend_authorize(
            organization=organization, end_user=alice, source_id=uuid.uuid4(), resolution="480p", duration=4
        )
        services.usage_record_create(
            source_id=authorization.source_id, measured_seconds=None, completed_at=timezone.now()
        )
    with django_assert_num_queries(1):
        assert [r.end_user.external_id for r in selectors.usage_record_list(organization=organization)] == ["alice"] * 3


def test_the_unreported_backlog_is_pending_usage_of_every_tenant_oldest_first(organization, other_organization):
    now = timezone.now()
    newest = _record(organization, completed_at=now)
    oldest = _record(other_organization, completed_at=now - timedelta(hours=2))
    middle = _record(organization, completed_at=now - timedelta(hours=1))
    reported = _record(organization, completed_at=now - timedelta(hours=3))
    UsageRecord.objects.filter(pk=reported.pk).update(report_state=ReportState.REPORTED)
    assert list(selectors.unreported_usage()) == [oldest, middle, newest]
    assert list(selectors.unreported_usage(limit=2)) == [oldest, middle]


def test_a_months_summary_counts_that_month_only(organization, settings):
    settings.STRIPE_API_KEY = ""
    this_month = services.period_start()
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    _record(organization, completed_at=datetime.combine(last_month, datetime.min.time(), tzinfo=UTC), duration=10)
    _record(organization, completed_at=timezone.now(), duration=4)
    summary = selectors.spend_summary(organization=organization, start=last_month)
    assert (summary.period_start, summary.period_end) == (last_month, this_month)
    assert summary.spent == Decimal("3.024") and summary.stripe_configured is False


def test_february_ends_on_its_last_day(organization):
    summary = selectors.spend_summary(organization=organization, start=date(2027, 2, 1))
    assert summary.period_end == date(2027, 3, 1)
