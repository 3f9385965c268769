"""The IETF rate-limit fields on every API answer: writes, reads and the organization's unfinished generations;
they count down, a 429 carries them and Retry-After, and they are left out (never an error) when the cache is down."""

import re
from decimal import Decimal

from rest_framework.test import APIClient

from accounts import services
from tests.api.conftest import assert_error
from tests.seedance_saas.test_dependency_outages import redis_server  # noqa: F401 -- a Redis that really stops

URL = "/api/v1/webhook-endpoints/"
BODY = {
    "prompt": "a red square drifts to the right",
    "image_url": "https://partner.example/frames/first.png",
    "resolution": "480p",
    "duration": "5",
    "aspect_ratio": "16:9",
}
MEMBER = re.compile(r'^"(?P<name>[a-z]+)"(?P<params>(;[a-z]+=("[^"]*"|\d+))*)$')


def parse(value: str) -> dict[str, dict]:
    """A structured-field list of `"name";k=v` members, strictly: anything else fails the test."""
    members = {}
    for member in value.split(", "):
        match = MEMBER.match(member)
        assert match, f"not a structured-field member: {member!r} in {value!r}"
        params = {}
        for param in match["params"].split(";")[1:]:
            key, _, raw = param.partition("=")
            params[key] = raw.strip('"') if raw.startswith('"') else int(raw)
        members[match["name"]] = params
    return members


def limits(response) -> tuple[dict, dict]:
    return parse(response["RateLimit-Policy"]), parse(response["RateLimit"])


def test_reads_and_writes_carry_both_budgets_and_the_read_one_counts_down(api_client, settings):
    settings.API_CREATE_RATE_PER_MINUTE, settings.API_READ_RATE_PER_MINUTE = 60, 600
    first, second = api_client.get(URL), api_client.get(URL)
    policy, state = limits(first)
    assert policy == {
        "writes": {"q": 60, "w": 60},
        "reads": {"q": 600, "w": 60},
        "generations": {"q": 10, "qu": "concurrent-requests"},
    }
    assert state["reads"]["r"] == 599 and state["writes"]["r"] == 60 and 1 <= state["reads"]["t"] <= 60
    assert limits(second)[1]["reads"]["r"] == 598 and limits(second)[1]["writes"]["r"] == 60


def test_a_write_counts_down_the_write_budget_only(api_client, settings):
    settings.API_CREATE_RATE_PER_MINUTE = 5
    api_client.get(URL)
    refused = api_client.post(URL, {"url": "http://bad.example/"}, format="json")  # a 400 still counts
    assert refused.status_code == 400
    policy, state = limits(refused)
    assert policy["writes"] == {"q": 5, "w": 60}
    assert state["writes"]["r"] == 4 and state["reads"]["r"] == 599


def test_429_carries_retry_after_and_the_exhausted_budget(api_client, settings):
    settings.API_READ_RATE_PER_MINUTE = 2
    assert [limits(api_client.get(URL))[1]["reads"]["r"] for _ in range(2)] == [1, 0]
    throttled = api_client.get(URL)
    assert_error(throttled, 429, "throttled")
    state = limits(throttled)[1]
    assert state["reads"]["r"] == 0 and 1 <= int(throttled["Retry-After"]) <= 60
    assert abs(state["reads"]["t"] - int(throttled["Retry-After"])) <= 1


def test_the_organizations_budget_follows_its_unfinished_generations(api_client, simulator, settings):
    settings.TRIAL_CREDIT_USD = Decimal(1000)
    settings.EACHLABS_MAX_IN_FLIGHT = 2
    assert limits(api_client.get(URL))[1]["generations"] == {"r": 2}
    created = [api_client.post("/api/v1/generations/", BODY, format="json") for _ in range(3)]
    assert [response.status_code for response in created] == [201, 201, 201]  # over it: queued, not refused
    assert [limits(response)[1]["generations"] for response in created] == [{"r": 1}, {"r": 0}, {"r": 0}]
    assert limits(api_client.get(URL))[0]["generations"] == {"q": 2, "qu": "concurrent-requests"}


def test_a_call_outside_the_keys_scopes_still_carries_the_fields(organization):
    _, secret = services.api_key_create(organization=organization, name="reader", scopes=["usage"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    refused = client.get(URL)
    assert_error(refused, 403, "insufficient_scope")
    assert limits(refused)[1]["reads"]["r"] == 599


def test_calls_without_a_key_carry_their_per_address_budget(settings):
    settings.API_ANONYMOUS_RATE_PER_MINUTE = 60
    response = APIClient().get("/api/v1/pricing/")
    assert response.status_code == 200
    policy, state = limits(response)
    assert policy == {"anonymous": {"q": 60, "w": 60}}
    assert set(state) == {"anonymous"} and state["anonymous"]["r"] == 59 and 1 <= state["anonymous"]["t"] <= 60


def test_an_unauthenticated_call_has_no_budget_to_show():
    response = APIClient().get(URL)
    assert response.status_code == 401 and "RateLimit" not in response


def test_with_the_cache_down_the_per_minute_budgets_are_left_out_and_calls_still_answer(
    redis_server,  # noqa: F811
    api_client,
):
    assert "reads" in limits(api_client.get(URL))[1]  # counted in Redis
    redis_server.stop()
    response = api_client.get(URL)
    assert response.status_code == 200
    # Only the database-counted budget is left; no made-up numbers for the cache-counted ones.
    assert limits(response) == ({"generations": {"q": 10, "qu": "concurrent-requests"}}, {"generations": {"r": 10}})
    anonymous = APIClient().get("/api/v1/pricing/")
    assert anonymous.status_code == 200 and "RateLimit" not in anonymous and "RateLimit-Policy" not in anonymous
