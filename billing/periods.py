"""Billing periods: UTC calendar months, the ledger's, the billing page's and the Stripe invoices' alike."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.utils import timezone


def period_start(moment: datetime | None = None) -> date:
    """The first day of the UTC calendar month that holds `moment` (now by default)."""
    moment = (moment or timezone.now()).astimezone(UTC)
    return moment.date().replace(day=1)


def next_month(first: date) -> date:
    """The first day of the month after the one `first` is in."""
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def next_period_start(moment: datetime | None = None) -> datetime:
    """Midnight UTC on the first day of the month after `moment`: where Stripe subscriptions are anchored."""
    return datetime.combine(next_month(period_start(moment)), datetime.min.time(), tzinfo=UTC)
