"""Every error of the partner API answers in one JSON shape, with the right status."""

import pytest
from rest_framework.test import APIClient

from accounts import services
from tests.api.conftest import assert_error

URL = "/api/v1/webhook-endpoints/"


def test_missing_key_is_401(client):
    error = assert_error(APIClient().get(URL), 401, "unauthenticated")
    assert "Bearer" in error["message"]


@pytest.mark.parametrize("header", ["Bearer sk_live_unknown", "Bearer nonsense", "Basic abc", "Bearer"])
def test_unknown_or_malformed_key_is_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(URL)
    assert_error(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_key_is_401_on_the_next_request(api_client, api_key):
    assert api_client.get(URL).status_code == 200
    services.api_key_revoke(api_key=api_key)
    assert_error(api_client.get(URL), 401, "unauthenticated")


def test_last_used_at_is_kept(api_client, api_key):
    api_client.get(URL)
    api_key.refresh_from_db()
    assert api_key.last_used_at is not None


def test_method_not_allowed_is_405(api_client):
    assert_error(api_client.put(URL, {}, format="json"), 405, "method_not_allowed")


def test_unsupported_media_type_is_415(api_client):
    response = api_client.post(URL, "url=x", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


def test_malformed_json_is_400(api_client):
    response = api_client.post(URL, '{"url": ', content_type="application/json")
    assert_error(response, 400, "malformed_request")


def test_validation_error_names_the_field(api_client):
    error = assert_error(api_client.post(URL, {"url": "http://x.example/"}, format="json"), 400, "invalid_input")
    assert "url" in error["fields"]
    error = assert_error(api_client.post(URL, {"event_types": ["nope"]}, format="json"), 400, "invalid_input")
    assert set(error["fields"]) == {"url", "event_types"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nothing-here/",
        "/api/v1/webhook-endpoints/not-a-uuid/",
        "/api/v1/webhook-endpoints/00000000-0000-0000-0000-000000000000/",
        "/api/nothing",
        "/api/v1/webhook-endpoints/%0A/rotate-secret/",
    ],
)
def test_unknown_paths_and_objects_are_json_404(api_client, path):
    assert_error(api_client.get(path), 404, "not_found")


def test_unknown_api_path_is_json_404_even_without_a_key():
    assert_error(APIClient().get("/api/v1/nope/"), 404, "not_found")


def test_bad_query_parameters_are_400(api_client):
    assert "status" in assert_error(api_client.get("/api/v1/webhook-deliveries/?status=x"), 400)["fields"]
    assert "cursor" in assert_error(api_client.get(URL + "?cursor=zzz"), 400)["fields"]
    assert "page_size" in assert_error(api_client.get(URL + "?page_size=0"), 400)["fields"]
    assert "endpoint_id" in assert_error(api_client.get("/api/v1/webhook-deliveries/?endpoint_id=1"), 400)["fields"]


def test_a_json_body_that_is_not_an_object_is_400(api_client):
    assert_error(api_client.post(URL, "[1, 2]", content_type="application/json"), 400, "invalid_input")
    assert_error(api_client.post(URL, "null", content_type="application/json"), 400, "invalid_input")


def test_unknown_api_path_answers_json_404_to_post_too(api_key):
    # The catch-all is a plain Django view: without csrf_exempt it would answer an HTML 403.
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.secret}")
    assert_error(client.post("/api/v1/webhook-deliveries/null/replay/"), 404, "not_found")
