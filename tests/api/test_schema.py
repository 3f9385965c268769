"""The OpenAPI schema validates, documents every endpoint and error, and holds against a schemathesis run."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

PUBLIC_OPERATIONS = {("get", "/api/v1/pricing/")}


def _schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def test_schema_validates_against_the_openapi_spec():
    schema = _schema()
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"


def test_every_operation_has_a_summary_a_description_or_example_and_documented_errors():
    schema = _schema()
    operations = list(_operations(schema))
    assert len(operations) >= 14
    for method, path, operation in operations:
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), f"{where} has no summary"
        assert operation.get("description") or any(
            "examples" in c for r in operation["responses"].values() for c in r.get("content", {}).values()
        ), f"{where} has neither a description nor an example"
        responses = operation["responses"]
        assert "429" in responses, f"{where} does not document 429"
        if (method, path) not in PUBLIC_OPERATIONS:
            assert "401" in responses, f"{where} does not document 401"
        for code, response in responses.items():
            if code.startswith(("4", "5")):
                content = response["content"]["application/json"]
                assert content["schema"]["$ref"].endswith("/Error"), f"{where} {code} is not the error shape"
                assert content.get("examples"), f"{where} {code} has no example"
        if "{" in path:
            assert "404" in responses, f"{where} does not document 404"


def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200 and schema.json()["info"]["title"] == "Seedance Studio API"
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


FUZZ = schemathesis.openapi.from_dict(_schema())
FUZZ.app = get_wsgi_application()
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def keep_test_connection():
    """Like Django's test client: a WSGI request must not close the connection that holds the test transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_key(organization, receiver, keep_test_connection):
    from accounts import services as account_services
    from webhooks import services as webhook_services

    # Objects to find, so that detail endpoints answer 200 as well as 404.
    endpoint = webhook_services.webhook_endpoint_create(organization=organization, url=receiver.url)
    webhook_services.event_publish(organization=organization, event_type="generation.failed", payload={"id": "x"})
    account_services.end_user_for_partner(organization=organization, external_id="alice")
    _, secret = account_services.api_key_create(organization=organization, name="fuzz")
    return secret, endpoint


@FUZZ.parametrize()
@settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_schemathesis_finds_no_server_error_and_no_response_off_schema(case, fuzz_key):
    secret, _ = fuzz_key
    with override_settings(API_READ_RATE_PER_MINUTE=100_000, API_CREATE_RATE_PER_MINUTE=100_000):
        case.call_and_validate(headers={"Authorization": f"Bearer {secret}"}, checks=CHECKS)
