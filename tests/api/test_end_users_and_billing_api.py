"""Contract of /api/v1/end-users/, /api/v1/usage/ and /api/v1/pricing/."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as account_services
from billing import services as billing_services
from tests.api.conftest import assert_error


def bill(organization, end_user, *, resolution="720p", duration=4, completed_at=None):
    """A succeeded job's usage record, made the way the lifecycle makes it (authorize, then settle)."""
    source_id = uuid.uuid4()
    billing_services.spend_authorize(
        organization=organization, end_user=end_user, source_id=source_id, resolution=resolution, duration=duration
    )
    return billing_services.usage_record_create(
        source_id=source_id, measured_seconds=None, completed_at=completed_at or timezone.now()
    )


@pytest.fixture
def alice(organization):
    return account_services.end_user_for_partner(organization=organization, external_id="alice")


def test_end_users_list_with_usage_this_month(api_client, organization, alice):
    bob = account_services.end_user_for_partner(organization=organization, external_id="bob")
    record = bill(organization, alice)
    body = api_client.get("/api/v1/end-users/").json()
    by_id = {e["end_user_id"]: e for e in body["results"]}
    assert set(by_id) == {"alice", "bob"} and body["next"] is None
    assert by_id["alice"]["usage_this_month"]["cost"] == str(record.amount)
    assert by_id["alice"]["usage_this_month"]["seconds"] == 4 and by_id["alice"]["usage_this_month"]["count"] == 1
    assert by_id["bob"]["usage_this_month"]["cost"] == "0.0000"
    assert by_id["alice"]["monthly_spend_limit"] is None and by_id["alice"]["blocked"] is False
    assert bob.external_id == "bob"


def test_end_user_detail_and_patch(api_client, alice):
    url = "/api/v1/end-users/alice/"
    assert api_client.get(url).json()["end_user_id"] == "alice"
    body = api_client.patch(url, {"monthly_spend_limit": "12.5", "blocked": True}, format="json").json()
    assert body["monthly_spend_limit"] == "12.5000" and body["blocked"] is True
    alice.refresh_from_db()
    assert alice.monthly_spend_limit == Decimal("12.5") and alice.blocked
    body = api_client.patch(url, {"monthly_spend_limit": None}, format="json").json()
    assert body["monthly_spend_limit"] is None and body["blocked"] is True


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"monthly_spend_limit": "-1"}, "monthly_spend_limit"),
        ({"monthly_spend_limit": "abc"}, "monthly_spend_limit"),
        ({"blocked": "maybe"}, "blocked"),
    ],
)
def test_end_user_patch_rejects_bad_values(api_client, alice, payload, field):
    assert field in assert_error(api_client.patch("/api/v1/end-users/alice/", payload, format="json"), 400)["fields"]


def test_end_users_are_tenant_scoped(other_client, alice):
    assert_error(other_client.get("/api/v1/end-users/alice/"), 404, "not_found")
    assert_error(other_client.patch("/api/v1/end-users/alice/", {"blocked": True}, format="json"), 404)
    assert other_client.get("/api/v1/end-users/").json()["results"] == []
    alice.refresh_from_db()
    assert not alice.blocked


def test_usage_totals_equal_the_sum_of_billed_costs(api_client, organization, alice):
    bob = account_services.end_user_for_partner(organization=organization, external_id="bob")
    records = [
        bill(organization, alice),
        bill(organization, bob, resolution="480p", duration=10),
        bill(organization, alice),
    ]
    total = sum(r.amount for r in records)

    by_resolution = api_client.get("/api/v1/usage/").json()
    assert by_resolution["total_cost"] == str(total) and by_resolution["total_seconds"] == 18
    assert by_resolution["count"] == 3 and by_resolution["currency"] == "usd"
    assert {g["key"]: g["seconds"] for g in by_resolution["groups"]} == {"480p": 10, "720p": 8}

    by_user = api_client.get("/api/v1/usage/?group_by=end_user").json()
    assert {g["key"]: g["cost"] for g in by_user["groups"]} == {
        "alice": str(records[0].amount + records[2].amount),
        "bob": str(records[1].amount),
    }
    today = timezone.now().date().isoformat()
    by_day = api_client.get(f"/api/v1/usage/?group_by=day&from={today}&to={today}").json()
    assert [g["key"] for g in by_day["groups"]] == [today] and by_day["total_cost"] == str(total)


def test_usage_range_excludes_other_days_and_other_organizations(api_client, organization, other_organization, alice):
    bill(organization, alice, completed_at=timezone.now() - timedelta(days=40))
    stranger = account_services.end_user_for_partner(organization=other_organization, external_id="alice")
    bill(other_organization, stranger)
    body = api_client.get("/api/v1/usage/").json()
    assert body["total_cost"] == "0.0000" and body["groups"] == []


@pytest.mark.parametrize(
    "query, field",
    [
        ("group_by=week", "group_by"),
        ("from=yesterday", "from"),
        ("from=2026-02-01&to=2026-01-01", "to"),
        ("from=2020-01-01&to=2026-01-01", "to"),
    ],
)
def test_usage_rejects_bad_queries(api_client, query, field):
    assert field in assert_error(api_client.get(f"/api/v1/usage/?{query}"), 400, "invalid_input")["fields"]


def test_pricing_is_public_and_per_organization_with_a_key(api_client):
    public = APIClient().get("/api/v1/pricing/")
    assert public.status_code == 200
    prices = {p["resolution"]: p for p in public.json()["prices"]}
    assert prices["720p"]["price_per_second"] == "0.3024" and prices["720p"]["available"] is True
    assert prices["1080p"]["available"] is False
    assert api_client.get("/api/v1/pricing/").json()["currency"] == "usd"


def test_pricing_with_a_bad_key_is_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer sk_live_nope")
    assert_error(client.get("/api/v1/pricing/"), 401, "unauthenticated")
