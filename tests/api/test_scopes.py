"""Scoped API keys: each scope opens its endpoints and no others (403 insufficient_scope naming the scope needed);
keys made before scopes existed keep full access; every API view declares a scope for each of its methods."""

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import URLPattern, get_resolver
from rest_framework.test import APIClient

from accounts import scopes, services
from accounts.api import TenantAPIView
from tests.api.conftest import assert_error

MISSING = uuid.uuid4()
# Every call of the API with the scope it needs. Detail paths name an object that does not exist, so a call that
# passes the scope check answers 404 (or 400 for a bad body): never the 403 of a refused scope.
CALLS = [
    ("get", "/api/v1/generations/", None, scopes.GENERATIONS_READ),
    ("post", "/api/v1/generations/", {}, scopes.GENERATIONS_WRITE),
    ("get", f"/api/v1/generations/{MISSING}/", None, scopes.GENERATIONS_READ),
    ("post", f"/api/v1/generations/{MISSING}/cancel/", None, scopes.GENERATIONS_WRITE),
    ("post", f"/api/v1/generations/{MISSING}/retry/", None, scopes.GENERATIONS_WRITE),
    ("get", f"/api/v1/variation-groups/{MISSING}/", None, scopes.GENERATIONS_READ),
    ("get", "/api/v1/share-links/", None, scopes.GENERATIONS_READ),
    ("post", "/api/v1/share-links/", {}, scopes.GENERATIONS_WRITE),
    ("get", f"/api/v1/share-links/{MISSING}/", None, scopes.GENERATIONS_READ),
    ("post", f"/api/v1/share-links/{MISSING}/revoke/", None, scopes.GENERATIONS_WRITE),
    ("get", "/api/v1/storyboards/", None, scopes.GENERATIONS_READ),
    ("post", "/api/v1/storyboards/", {}, scopes.GENERATIONS_WRITE),
    ("get", f"/api/v1/storyboards/{MISSING}/", None, scopes.GENERATIONS_READ),
    ("post", f"/api/v1/storyboards/{MISSING}/shots/1/retry/", None, scopes.GENERATIONS_WRITE),
    ("get", "/api/v1/end-users/", None, scopes.END_USERS_READ),
    ("get", "/api/v1/end-users/nobody/", None, scopes.END_USERS_READ),
    ("patch", "/api/v1/end-users/nobody/", {"blocked": True}, scopes.END_USERS),
    ("get", "/api/v1/usage/", None, scopes.USAGE),
    ("get", "/api/v1/usage/export.csv", None, scopes.USAGE),
    ("get", "/api/v1/webhook-endpoints/", None, scopes.WEBHOOKS_READ),
    ("post", "/api/v1/webhook-endpoints/", {"url": "http://bad.example/"}, scopes.WEBHOOKS),
    ("get", f"/api/v1/webhook-endpoints/{MISSING}/", None, scopes.WEBHOOKS),
    ("patch", f"/api/v1/webhook-endpoints/{MISSING}/", {"enabled": True}, scopes.WEBHOOKS),
    ("delete", f"/api/v1/webhook-endpoints/{MISSING}/", None, scopes.WEBHOOKS),
    ("post", f"/api/v1/webhook-endpoints/{MISSING}/rotate-secret/", None, scopes.WEBHOOKS),
    ("get", "/api/v1/webhook-deliveries/", None, scopes.WEBHOOKS_READ),
    ("get", f"/api/v1/webhook-deliveries/{MISSING}/", None, scopes.WEBHOOKS_READ),
    ("post", f"/api/v1/webhook-deliveries/{MISSING}/replay/", None, scopes.WEBHOOKS),
]


def client_with(organization, key_scopes=None) -> APIClient:
    _, secret = services.api_key_create(organization=organization, name="scoped", scopes=key_scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def call(client, method, path, body):
    return getattr(client, method)(path, body, format="json") if body is not None else getattr(client, method)(path)


@pytest.mark.parametrize("scope", list(scopes.SCOPES))
def test_each_scope_opens_its_endpoints_and_refuses_the_others(scope, organization, settings):
    settings.API_CREATE_RATE_PER_MINUTE = 1000
    client = client_with(organization, [scope])
    for method, path, body, needed in CALLS:
        response = call(client, method, path, body)
        if scopes.allows([scope], needed):
            assert response.status_code != 403, (method, path, response.content)
        else:
            error = assert_error(response, 403, "insufficient_scope")
            assert error["required_scope"] == needed and f"`{needed}`" in error["message"], (method, path)


def test_the_broad_scopes_include_their_read_only_part():
    assert scopes.allows([scopes.END_USERS], scopes.END_USERS_READ)
    assert scopes.allows([scopes.WEBHOOKS], scopes.WEBHOOKS_READ)
    assert not scopes.allows([scopes.END_USERS_READ], scopes.END_USERS)
    assert not scopes.allows([scopes.GENERATIONS_WRITE], scopes.GENERATIONS_READ)


def test_a_read_only_key_reads_everything_but_secrets_and_changes_nothing(organization, settings):
    settings.API_CREATE_RATE_PER_MINUTE = 1000
    client = client_with(organization, scopes.READ_ONLY)
    for method, path, body, needed in CALLS:
        response = call(client, method, path, body)
        refused = response.status_code == 403
        assert refused == (method != "get" or needed == scopes.WEBHOOKS), (method, path, response.status_code)


def test_a_key_made_without_scopes_has_them_all(organization, settings):
    settings.API_CREATE_RATE_PER_MINUTE = 1000
    client = client_with(organization)
    assert all(call(client, *c[:3]).status_code != 403 for c in CALLS)


def test_pricing_needs_no_scope(organization):
    response = client_with(organization, [scopes.USAGE]).get("/api/v1/pricing/")
    assert response.status_code == 200 and response.json()["currency"] == "usd"


def test_a_refused_scope_answers_403_before_the_object_is_looked_up(organization):
    # Scope first: a refused call says nothing about whether the object exists.
    client = client_with(organization, [scopes.USAGE])
    assert_error(client.get(f"/api/v1/generations/{MISSING}/"), 403, "insufficient_scope")


def test_unknown_or_no_scopes_are_refused_by_the_service(organization):
    from seedance_saas.errors import InvalidInput

    with pytest.raises(InvalidInput, match="Unknown scope"):
        services.api_key_create(organization=organization, name="x", scopes=["generations:delete"])
    with pytest.raises(InvalidInput, match="at least one scope"):
        services.api_key_create(organization=organization, name="x", scopes=[])


@pytest.mark.django_db(transaction=True)
def test_keys_made_before_scopes_existed_keep_full_access_after_the_migration():
    executor = MigrationExecutor(connection)
    before = [("accounts", "0004_notify_opt_out")]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    organization = old.get_model("accounts", "Organization").objects.create(name="Old Co", slug="old-co")
    secret = "sk_live_" + "o" * 43
    old.get_model("accounts", "ApiKey").objects.create(
        organization=organization, name="old", prefix=secret[:12], secret_hash=services._hash_secret(secret)
    )
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    statuses = {(m, p): call(client, m, p, b).status_code for m, p, b, _ in CALLS}
    assert 403 not in statuses.values() and 401 not in statuses.values(), statuses


def test_every_api_view_declares_a_scope_for_each_method_it_answers():
    api = next(p for p in get_resolver().url_patterns if str(p.pattern) == "api/")
    views = [p.callback.cls for p in api.url_patterns if isinstance(p, URLPattern) and str(p.pattern).startswith("v1/")]
    assert len(views) == 23  # + the end-user export (the erasure is a method of the end-user detail)
    for view in views:
        assert issubclass(view, TenantAPIView), view
        for method in ("get", "post", "put", "patch", "delete"):
            if hasattr(view, method):
                scope = view.required_scopes[method.upper()]
                assert scope in scopes.SCOPES or (scope is scopes.PUBLIC and view.public), (view, method)


def test_a_view_that_forgets_a_scope_is_refused_at_class_creation():
    with pytest.raises(TypeError, match="'POST' to required_scopes"):

        class Forgetful(TenantAPIView):
            required_scopes = {"GET": scopes.USAGE}

            def get(self, request): ...

            def post(self, request): ...

    with pytest.raises(TypeError, match="unknown scope"):

        class Misspelled(TenantAPIView):
            required_scopes = {"GET": "usage:read"}

            def get(self, request): ...


def test_the_schema_states_each_operations_scope_its_403_and_the_rate_limit_fields(client):
    schema = client.get("/api/schema/?format=json").json()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if path == "/api/v1/pricing/":
                assert "x-required-scope" not in operation and "403" not in operation["responses"]
                assert "RateLimit" in operation["responses"]["200"]["headers"]
                continue
            scope = operation["x-required-scope"]
            assert scope in scopes.SCOPES and f"`{scope}`" in operation["description"], (path, method)
            assert "403" in operation["responses"], (path, method)
            for status, response in operation["responses"].items():
                assert {"RateLimit-Policy", "RateLimit"} <= set(response["headers"]), (path, method, status)
            assert "Retry-After" in operation["responses"]["429"]["headers"]
