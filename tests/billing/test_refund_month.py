"""A refund issued in a later month counts in that month, on the billing page and in /api/v1/usage/ alike."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts_services
from billing import selectors, services
from tests.factories import UserFactory


def bill_last_month(organization):
    """A 480p 5 s job that finished on the 15th of last month (UTC)."""
    first_of_this_month = services.period_start()
    completed_at = datetime.combine(first_of_this_month - timedelta(days=16), datetime.min.time(), tzinfo=UTC)
    source_id = uuid.uuid4()
    services.spend_authorize(
        organization=organization,
        end_user=accounts_services.end_user_default(organization=organization),
        source_id=source_id,
        resolution="480p",
        duration=5,
    )
    return services.usage_record_create(source_id=source_id, measured_seconds=None, completed_at=completed_at)


def usage_api_total(api_client, start, end) -> Decimal:
    body = api_client.get(f"/api/v1/usage/?from={start}&to={end}").json()
    return Decimal(body["total_cost"])


def test_a_refund_in_a_later_month_counts_in_the_same_month_everywhere(browser_client, api_client, organization):
    record = bill_last_month(organization)
    services.usage_refund(usage_record=record, amount=None, reason="bad video", actor=UserFactory())
    this_month = services.period_start()
    last_month = record.period
    assert last_month < this_month

    page = browser_client.get(reverse("billing"))
    spent_this_month = page.context["summary"].spent
    today = timezone.now().astimezone(UTC).date()
    assert spent_this_month == usage_api_total(api_client, this_month, today) == -record.amount
    assert page.context["by_resolution"].amount == spent_this_month

    last_page = selectors.spend_summary(organization=organization, start=last_month).spent
    last_month_end = this_month - timedelta(days=1)
    assert last_page == usage_api_total(api_client, last_month, last_month_end) == record.amount


def test_the_landing_page_says_a_subscription_follows_the_trial(client):
    page = client.get(reverse("landing")).content.decode()
    assert "No subscription" not in page
    assert "trial credit" in page and "subscribe" in page
