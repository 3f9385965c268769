"""Upload limits hold while the body streams: 413 before a large body is read, nothing large written to disk."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from generations.models import Generation
from tests.api.conftest import assert_error
from tests.counting_body import MULTIPART_CONTENT_TYPE, CountingBody, multipart_upload, wsgi_environ

MB = 1024 * 1024
CHUNK = 64 * 1024  # Django's upload chunk: the most a handler can see past a limit before it stops
FIELDS = {"prompt": "waves roll in", "resolution": "480p", "duration": "5", "aspect_ratio": "16:9"}
API_URL = "/api/v1/generations/"


@pytest.fixture(autouse=True)
def temp_dir(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = tmp_path / "uploads"
    return settings.FILE_UPLOAD_TEMP_DIR


def post(client, url: str, body: CountingBody, *, content_length: int | None, content_type=MULTIPART_CONTENT_TYPE):
    environ = wsgi_environ(body, content_length=content_length, content_type=content_type)
    return client.generic("POST", url, content_type=content_type, **environ)


def files_in(folder) -> list:
    return list(folder.iterdir()) if folder.exists() else []


def test_browser_upload_declaring_100_mb_answers_413_page_without_reading_the_body(browser_client, temp_dir):
    body = multipart_upload(FIELDS, file_field="image", file_bytes=100 * MB)
    response = post(browser_client, reverse("generation_create"), body, content_length=body.size)
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "That upload is too large" in page and "30 MB" in page and "61 MB" in page
    assert body.bytes_read == 0
    assert not files_in(temp_dir) and not Generation.objects.exists()


def test_api_upload_declaring_100_mb_answers_413_json_without_reading_the_body(api_client):
    body = multipart_upload(FIELDS, file_field="image", file_bytes=100 * MB)
    response = post(api_client, API_URL, body, content_length=body.size)
    error = assert_error(response, 413, "request_too_large")
    assert "30 MB" in error["message"] and "61 MB" in error["message"]
    assert body.bytes_read == 0


def test_json_body_over_the_memory_limit_answers_413_unread(api_client, settings):
    payload = json.dumps({"prompt": "x" * 3 * MB}).encode()
    body = CountingBody(payload, 0)
    response = post(api_client, API_URL, body, content_length=body.size, content_type="application/json")
    error = assert_error(response, 413, "request_too_large")
    assert "2.5 MB" in error["message"]
    assert body.bytes_read == 0


@pytest.mark.parametrize("client_fixture, url", [("browser_client", "generation_create"), ("api_client", API_URL)])
def test_a_file_over_the_limit_inside_an_allowed_body_stops_right_after_the_limit(
    request, client_fixture, url, temp_dir, settings
):
    # 50 MB is under the request limit (61 MB), so Content-Length lets it in; the file limit (30 MB) stops it.
    client = request.getfixturevalue(client_fixture)
    body = multipart_upload(FIELDS, file_field="image", file_bytes=50 * MB)
    assert body.size < settings.UPLOAD_MAX_REQUEST_BYTES
    response = post(client, url if url.startswith("/") else reverse(url), body, content_length=body.size)
    assert response.status_code == 413
    if client_fixture == "api_client":
        assert_error(response, 413, "request_too_large")
    else:
        assert "30 MB" in response.content.decode()
    assert settings.UPLOAD_MAX_FILE_BYTES < body.bytes_read <= settings.UPLOAD_MAX_FILE_BYTES + 3 * CHUNK
    print(f"\n{client_fixture}: 50 MB file, read {body.bytes_read} bytes of {body.size} before the 413")
    assert not files_in(temp_dir), "the partial temporary file is deleted at once"
    assert not Generation.objects.exists()


def test_content_length_bounds_what_is_read_even_when_the_body_is_longer(browser_client):
    # A client that claims 10 MB and keeps sending: Django reads the 10 MB it was told and not a byte more.
    body = multipart_upload(FIELDS, file_field="image", file_bytes=100 * MB)
    response = post(browser_client, reverse("generation_create"), body, content_length=10 * MB)
    assert response.status_code == 400
    assert body.bytes_read <= 10 * MB


def test_a_chunked_body_without_content_length_is_not_read(browser_client):
    # Under WSGI, Django reads only what Content-Length announces; a chunked upload is seen as an empty form.
    body = multipart_upload(FIELDS, file_field="image", file_bytes=100 * MB)
    response = post(browser_client, reverse("generation_create"), body, content_length=None)
    assert response.status_code == 400
    assert body.bytes_read == 0 and not Generation.objects.exists()
