"""Fixtures of the partner API tests."""

import pytest
from rest_framework.test import APIClient

from accounts import services
from tests.generations.conftest import _eachlabs_isolated, simulator  # noqa: F401 -- the provider simulator
from tests.webhooks.conftest import receiver  # noqa: F401 -- a real HTTP receiver for webhook tests


@pytest.fixture
def other_client(other_organization):
    _, secret = services.api_key_create(organization=other_organization, name="other key")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The one error shape: {"error": {"code", "message", "fields"?}}."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    allowed = {"code", "message", "fields", "required_scope"}
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]) <= allowed
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]
