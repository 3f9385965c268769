"""In Chromium: the Developers page creates a read-only key in one click; the API then reads with it and refuses
a write with 403 insufficient_scope; the key list shows its scopes."""

import httpx

from accounts.models import ApiKey
from accounts.scopes import READ_ONLY
from tests.e2e.conftest import assert_fields_labelled


def test_one_click_read_only_key_reads_but_cannot_write(logged_in_page, e2e_user, live_server, screenshot):
    page = logged_in_page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Developers").click()
    boxes = page.locator('input[name="scopes"]')
    assert boxes.count() == 7 and all(boxes.nth(i).is_checked() for i in range(7))  # full access unless told
    assert_fields_labelled(page)
    page.get_by_label("Key name").fill("Dashboard")
    page.get_by_role("button", name="Create read-only key").click()
    secret = page.get_by_test_id("new-secret").inner_text().strip()
    key = ApiKey.objects.get(organization=e2e_user.organization)
    assert key.scopes == list(READ_ONLY)
    row = page.locator(f"#key-{key.pk}")
    assert "Read-only" in row.inner_text()
    assert row.locator(".key-scopes").get_attribute("title") == "generations:read, end_users:read, usage, webhooks:read"
    screenshot(page, "60-read-only-api-key")

    headers = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{live_server.url}/api/v1/generations/", headers=headers).status_code == 200
    refused = httpx.post(f"{live_server.url}/api/v1/generations/", headers=headers, json={"prompt": "x"})
    assert refused.status_code == 403
    assert refused.json()["error"] | {"message": ""} == {
        "code": "insufficient_scope",
        "message": "",
        "required_scope": "generations:write",
    }
