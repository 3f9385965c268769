"""Shared fixtures: users, organizations, API clients."""

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from accounts import services
from tests.factories import OrganizationFactory, UserFactory


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://... (CI does)"))


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path, db):
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user():
    return UserFactory()


@pytest.fixture
def organization(user):
    return OrganizationFactory(owner=user)


@pytest.fixture
def other_organization():
    return OrganizationFactory()


@pytest.fixture
def api_key(organization):
    key, secret = services.api_key_create(organization=organization, name="test key")
    key.secret = secret
    return key


@pytest.fixture
def api_client(api_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.secret}")
    return client


@pytest.fixture
def browser_client(client, user, organization):
    client.force_login(user)
    return client
