"""Per-key rate limits: a write rate and a read rate, overridable per organization, answered 429 + Retry-After."""

from rest_framework.test import APIClient

from accounts import services
from tests.api.conftest import assert_error

URL = "/api/v1/webhook-endpoints/"


def test_reads_are_limited_per_key_with_retry_after(api_client, organization, settings):
    settings.API_READ_RATE_PER_MINUTE = 3
    assert [api_client.get(URL).status_code for _ in range(3)] == [200, 200, 200]
    response = api_client.get(URL)
    assert_error(response, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60

    # Another key of the same organization has its own budget.
    _, secret = services.api_key_create(organization=organization, name="second")
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert other.get(URL).status_code == 200


def test_writes_have_their_own_budget(api_client, settings):
    settings.API_CREATE_RATE_PER_MINUTE = 2
    settings.API_READ_RATE_PER_MINUTE = 100
    statuses = [api_client.post(URL, {"url": "http://bad.example/"}, format="json").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]
    assert api_client.get(URL).status_code == 200


def test_organization_override_beats_the_default(api_client, organization, settings):
    settings.API_READ_RATE_PER_MINUTE = 1
    organization.api_read_rate_per_minute = 4
    organization.save()
    assert [api_client.get(URL).status_code for _ in range(5)] == [200, 200, 200, 200, 429]


def test_unauthenticated_calls_never_consume_a_keys_budget(api_client, settings):
    settings.API_READ_RATE_PER_MINUTE = 1
    assert APIClient().get(URL).status_code == 401
    assert api_client.get(URL).status_code == 200


def test_anonymous_callers_cannot_dodge_the_limit_with_a_rotating_forwarded_for():
    client = APIClient()
    statuses = [
        client.get("/api/v1/pricing/", headers={"x-forwarded-for": f"203.0.113.{n}"}).status_code for n in range(70)
    ]
    assert statuses.count(200) == 60 and statuses.count(429) == 10
