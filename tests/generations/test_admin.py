"""The operators' console: the dashboard and the generation actions, which go through the services."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from generations import services
from generations.models import Generation, Status
from tests.factories import UserFactory
from tests.generations.test_lifecycle import create


@pytest.fixture(autouse=True)
def generous_trial(settings):
    settings.TRIAL_CREDIT_USD = Decimal(1000)


@pytest.fixture
def operator_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_dashboard_shows_queue_and_provider_health(operator_client, organization, simulator):
    simulator.force_next(status_code=429, retry_after=5)
    create(organization)
    create(organization)
    services.dispatch_pending()
    page = operator_client.get(reverse("admin:index")).content.decode()
    assert "Generations in flight" in page
    assert "1 × 429" in page
    assert "ledger-only" in page


def test_dashboard_flags_a_refused_provider_key(operator_client, organization, simulator):
    simulator.force_next(status_code=401)
    create(organization)
    services.dispatch_pending()
    page = operator_client.get(reverse("admin:index")).content.decode()
    assert "dispatch stopped" in page


def test_admin_refresh_action_finishes_a_generation(operator_client, organization, simulator):
    generation = create(organization)
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    response = operator_client.post(
        reverse("admin:generations_generation_changelist"),
        {"action": "refresh_now", "_selected_action": [str(generation.pk)]},
    )
    assert response.status_code == 302
    assert Generation.objects.get(pk=generation.pk).status == Status.SUCCEEDED


def test_admin_retry_action_goes_through_the_service(operator_client, organization, simulator):
    generation = create(organization)
    services.generation_cancel(generation=generation)
    operator_client.post(
        reverse("admin:generations_generation_changelist"),
        {"action": "retry", "_selected_action": [str(generation.pk)]},
    )
    assert Generation.objects.filter(retry_of=generation, status=Status.QUEUED).count() == 1


def test_generation_admin_search_and_filters(operator_client, organization, simulator):
    generation = create(organization)
    url = reverse("admin:generations_generation_changelist")
    assert str(generation.pk) in operator_client.get(url, {"q": str(generation.pk)}).content.decode()
    assert operator_client.get(url, {"status__exact": "queued", "resolution": "480p"}).status_code == 200
    assert operator_client.get(reverse("admin:generations_generation_change", args=[generation.pk])).status_code == 200
