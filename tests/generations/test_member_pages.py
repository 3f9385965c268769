"""A plain member (not an owner or admin) sees the organization's videos and its spend."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts import services as accounts_services
from accounts.models import Role
from generations import services
from tests.factories import UserFactory
from tests.generations.test_lifecycle import create


@pytest.fixture
def member_client(client, organization):
    member = UserFactory()
    accounts_services.membership_add(organization=organization, user=member, role=Role.MEMBER)
    client.force_login(member)
    return client


def test_member_sees_the_list_the_finished_video_and_the_spend(member_client, organization, simulator):
    generation = create(organization)
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    generation.refresh_from_db()

    listing = member_client.get(reverse("generation_list"))
    assert listing.status_code == 200 and str(generation.pk) in listing.content.decode()
    detail = member_client.get(reverse("generation_detail", args=[generation.pk]))
    assert detail.status_code == 200
    assert "<video" in detail.content.decode() and f"${generation.cost:.4f}" in detail.content.decode()
    billing = member_client.get(reverse("billing"))
    assert billing.status_code == 200
    assert f"${generation.cost:.2f}" in billing.content.decode()
    assert "Owners and admins set the monthly limit" in billing.content.decode()
    assert member_client.post(reverse("billing"), {"monthly_spend_limit": "1"}).status_code == 403
