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


@pytest.fixture(autouse=True)
def _environment_key_follows_its_setting(db):
    """The shared key seeded from the environment takes EACHLABS_MAX_IN_FLIGHT when it is first made; tests that
    change the setting mean that key's limit, as an operator editing it in the admin would."""
    from django.core.signals import setting_changed

    from generations.models import ProviderKey

    def follow(*, setting, value, **kwargs):
        if setting == "EACHLABS_MAX_IN_FLIGHT":
            ProviderKey.objects.filter(from_environment=True).update(max_in_flight=value)

    setting_changed.connect(follow, dispatch_uid="tests.environment_key_limit")
    yield
    setting_changed.disconnect(dispatch_uid="tests.environment_key_limit")
