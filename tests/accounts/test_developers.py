"""Developer page: API keys created (secret shown once), listed and revoked; members read only; tenants apart."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiKey, Role
from accounts.scopes import all_scopes
from tests.factories import MembershipFactory


@pytest.fixture
def member_client(client, organization):
    client.force_login(MembershipFactory(organization=organization, role=Role.MEMBER).user)
    return client


def test_create_key_shows_secret_once(browser_client, organization):
    response = browser_client.post(reverse("api_key_create"), {"name": "Production server", "scopes": all_scopes()})
    assert response.status_code == 201
    assert response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]
    secret = response.context["new_secret"]
    key = ApiKey.objects.get(organization=organization)
    page = response.content.decode()
    assert secret in page and "only time it is shown" in page and 'data-copy="#new-secret"' in page
    assert secret.startswith(key.prefix) and secret not in key.secret_hash
    # The secret works against the API, and the list never shows it again.
    assert services.api_key_authenticate(secret=secret) == key
    later = browser_client.get(reverse("developers")).content.decode()
    assert secret not in later and key.prefix in later and "Production server" in later


def test_create_key_without_name_shows_error_next_to_field(browser_client, organization):
    response = browser_client.post(reverse("api_key_create"), {"name": "   "})
    assert response.status_code == 400
    page = response.content.decode()
    name_block = page[page.index('<label for="id_name"') : page.index("Create key</button>")]
    assert 'aria-invalid="true"' in name_block and 'id="id_name_error"' in name_block
    assert not ApiKey.objects.exists()


def test_list_shows_status_and_last_use(browser_client, organization, api_key):
    services.api_key_authenticate(secret=api_key.secret)
    revoked, _ = services.api_key_create(organization=organization, name="old one")
    services.api_key_revoke(api_key=revoked)
    page = browser_client.get(reverse("developers")).content.decode()
    assert "Active" in page and "Revoked" in page
    assert "Never" not in page.split(f'id="key-{api_key.pk}"')[1].split("</tr>")[0]


def test_revoke_with_confirmation(browser_client, organization, api_key):
    confirm = browser_client.get(reverse("api_key_revoke", args=[api_key.pk]))
    assert confirm.status_code == 200 and "Revoke key</button>" in confirm.content.decode()
    api_key.refresh_from_db()
    assert api_key.is_active  # a GET changes nothing
    response = browser_client.post(reverse("api_key_revoke", args=[api_key.pk]))
    assert response.status_code == 302
    api_key.refresh_from_db()
    assert not api_key.is_active
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.secret}")
    assert api.get("/api/v1/webhook-endpoints/").status_code == 401


def test_member_reads_keys_but_cannot_create_or_revoke(member_client, organization, api_key):
    page = member_client.get(reverse("developers")).content.decode()
    assert api_key.name in page and "Only owners and admins" in page and "Create key</button>" not in page
    response = member_client.post(reverse("api_key_create"), {"name": "sneaky"})
    assert response.status_code == 403 and "Only owners and admins" in response.content.decode()
    assert member_client.post(reverse("api_key_revoke", args=[api_key.pk])).status_code == 403
    api_key.refresh_from_db()
    assert api_key.is_active and ApiKey.objects.count() == 1


def test_other_tenants_keys_are_invisible_and_answer_404(browser_client, other_organization):
    theirs, _ = services.api_key_create(organization=other_organization, name="Their secret server")
    assert "Their secret server" not in browser_client.get(reverse("developers")).content.decode()
    assert browser_client.get(reverse("api_key_revoke", args=[theirs.pk])).status_code == 404
    assert browser_client.post(reverse("api_key_revoke", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active


def test_developers_requires_login(client):
    assert client.get(reverse("developers")).status_code == 302
    assert client.post(reverse("api_key_create"), {"name": "x"}).status_code == 302
    assert not ApiKey.objects.exists()


def test_the_form_offers_every_scope_ticked_and_a_read_only_button(browser_client):
    page = browser_client.get(reverse("developers")).content.decode()
    for scope in all_scopes():
        assert f'value="{scope}"' in page
    assert page.count('name="scopes"') == len(all_scopes()) and page.count("checked") >= len(all_scopes())
    assert 'name="preset" value="read_only"' in page and "Create read-only key</button>" in page


def test_read_only_button_creates_a_read_only_key_whatever_is_ticked(browser_client, organization):
    response = browser_client.post(
        reverse("api_key_create"), {"name": "Dashboard", "scopes": all_scopes(), "preset": "read_only"}
    )
    assert response.status_code == 201
    key = ApiKey.objects.get(organization=organization)
    assert key.scopes == ["generations:read", "end_users:read", "usage", "webhooks:read"] and key.is_read_only
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {response.context['new_secret']}")
    assert api.get("/api/v1/generations/").status_code == 200
    refused = api.post("/api/v1/generations/", {"prompt": "x"}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["required_scope"] == "generations:write"
    listed = browser_client.get(reverse("developers")).content.decode().split(f'id="key-{key.pk}"')[1].split("</tr>")[0]
    assert "Read-only" in listed and "generations:read, end_users:read, usage, webhooks:read" in listed


def test_ticked_scopes_are_the_keys_scopes(browser_client, organization):
    response = browser_client.post(
        reverse("api_key_create"), {"name": "Renderer", "scopes": ["generations:write", "generations:read"]}
    )
    assert response.status_code == 201
    key = ApiKey.objects.get(organization=organization)
    assert key.scopes == ["generations:read", "generations:write"]
    row = browser_client.get(reverse("developers")).content.decode().split(f'id="key-{key.pk}"')[1].split("</tr>")[0]
    assert '<span class="small">generations:read, generations:write</span>' in row


def test_a_key_with_every_scope_is_listed_as_full_access(browser_client, api_key):
    row = browser_client.get(reverse("developers")).content.decode().split(f'id="key-{api_key.pk}"')[1]
    assert "Full access" in row.split("</tr>")[0]


def test_no_scope_ticked_is_refused_next_to_the_boxes(browser_client, organization):
    response = browser_client.post(reverse("api_key_create"), {"name": "Nothing"})
    assert response.status_code == 400
    assert "Tick at least one scope" in response.content.decode()
    assert not ApiKey.objects.exists()


def test_an_unknown_scope_is_refused(browser_client, organization):
    response = browser_client.post(reverse("api_key_create"), {"name": "Sneaky", "scopes": ["admin"]})
    assert response.status_code == 400 and not ApiKey.objects.exists()


def test_the_admin_shows_each_keys_scopes_in_the_list_and_on_the_key(client, organization):
    from accounts.models import User

    client.force_login(User.objects.create_superuser(email="ops@example.com", password="pw-ops-12345"))
    reader, _ = services.api_key_create(organization=organization, name="reader", scopes=["usage", "generations:read"])
    listing = client.get("/admin/accounts/apikey/").content.decode()
    assert "generations:read, usage" in listing
    detail = client.get(f"/admin/accounts/apikey/{reader.pk}/change/").content.decode()
    assert "generations:read, usage" in detail and 'name="scopes"' not in detail  # shown, not editable
