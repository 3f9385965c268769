"""The browser billing page: spend, limit, trial credit, ledger-only notice, owners-only changes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import Role
from billing import selectors, services
from tests.factories import UserFactory


def bill(organization, *, seconds="5", resolution="480p"):
    import uuid

    source_id = uuid.uuid4()
    end_user = accounts_services.end_user_default(organization=organization)
    services.spend_authorize(
        organization=organization, end_user=end_user, source_id=source_id, resolution=resolution, duration=seconds
    )
    return services.usage_record_create(source_id=source_id, measured_seconds=None, completed_at=timezone.now())


def test_page_shows_spend_by_resolution_and_day_and_trial_left(browser_client, organization):
    record = bill(organization)
    response = browser_client.get(reverse("billing"))
    page = response.content.decode()
    assert response.status_code == 200
    assert f"${record.amount:.2f}" in page  # spent this month: $0.71
    assert "<svg" in page and "<rect" in page
    assert "480p" in page
    left = selectors.spend_summary(organization=organization).trial_credit_left
    assert f"${left:.2f}" in page


def test_ledger_only_mode_says_stripe_is_not_configured(browser_client, settings):
    settings.STRIPE_API_KEY = ""
    page = browser_client.get(reverse("billing")).content.decode()
    assert "Stripe is not configured" in page and "Subscribe with Stripe Checkout" not in page


def test_owner_sets_and_clears_the_limit(browser_client, organization):
    response = browser_client.post(reverse("billing"), {"monthly_spend_limit": "12.50"})
    assert response.status_code == 302
    assert selectors.billing_account(organization=organization).monthly_spend_limit == Decimal("12.50")
    assert "12.50" in browser_client.get(reverse("billing")).content.decode()
    browser_client.post(reverse("billing"), {"monthly_spend_limit": ""})
    assert selectors.billing_account(organization=organization).monthly_spend_limit is None


def test_negative_limit_error_sits_next_to_the_field(browser_client):
    response = browser_client.post(reverse("billing"), {"monthly_spend_limit": "-1"})
    assert response.status_code == 400
    assert response.context["form"].errors["monthly_spend_limit"]


def test_members_cannot_change_the_limit(client, organization):
    member = UserFactory()
    accounts_services.membership_add(organization=organization, user=member, role=Role.MEMBER)
    client.force_login(member)
    assert "Owners and admins set the monthly limit" in client.get(reverse("billing")).content.decode()
    assert client.post(reverse("billing"), {"monthly_spend_limit": "1"}).status_code == 403
    assert selectors.billing_account(organization=organization).monthly_spend_limit is None


@pytest.mark.parametrize("name", ["billing"])
def test_needs_login(client, db, name):
    assert client.get(reverse(name)).status_code == 302
