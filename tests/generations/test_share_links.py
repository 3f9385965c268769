"""Share links: unguessable hash-only tokens, a public noindex page that reveals nothing else, revocation at once."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as accounts_services
from generations import sharing
from generations.models import ShareLink
from tests.generations.test_lifecycle import create
from tests.generations.test_posters import succeed

TOKEN_RE = re.compile(r"/s/([A-Za-z0-9_-]+)/$")


@pytest.fixture(autouse=True)
def generous_trial(settings):
    settings.TRIAL_CREDIT_USD = Decimal(1000)


@pytest.fixture
def other_api_client(other_organization):
    key, secret = accounts_services.api_key_create(organization=other_organization, name="other key")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def video(organization, simulator):
    return succeed(organization, simulator)


def share(api_client, generation, **extra) -> dict:
    response = api_client.post("/api/v1/share-links/", {"generation_id": str(generation.pk), **extra}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def path_of(url: str) -> str:
    """The path of an absolute URL on our site (the test client speaks paths)."""
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_token_has_256_bits_and_only_its_sha256_is_stored(api_client, video):
    first, second = share(api_client, video), share(api_client, video)
    token = TOKEN_RE.search(first["url"]).group(1)
    assert len(token) >= 43  # 32 random bytes in URL-safe base64: 256 bits (>= 128 asked)
    assert token != TOKEN_RE.search(second["url"]).group(1)
    link = ShareLink.objects.get(pk=first["id"])
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = [str(value) for value in ShareLink.objects.filter(pk=link.pk).values().get().values()]
    assert not any(token in value for value in stored)
    # The URL is shown once: reading the link again never gives it back.
    again = api_client.get(f"/api/v1/share-links/{first['id']}/").json()
    assert "url" not in again and again["active"] is True
    assert token not in str(api_client.get("/api/v1/share-links/").json())


def test_public_page_has_open_graph_noindex_and_the_prompt(client, api_client, video):
    url = share(api_client, video)["url"]
    response = client.get(path_of(url))
    html = response.content.decode()
    assert response.status_code == 200
    assert "noindex" in response["X-Robots-Tag"]
    assert '<meta name="robots" content="noindex' in html
    assert f'<meta property="og:video" content="{url}video.mp4">' in html
    assert f'<meta property="og:image" content="{url}poster.webp">' in html
    assert 'property="og:title" content="a red square drifts"' in html
    assert 'data-testid="shared-prompt">a red square drifts<' in html


def test_public_page_reveals_no_organization_user_other_videos_or_hidden_prompt(
    client, api_client, organization, user, video, simulator
):
    other_video = succeed(organization, simulator)
    url = share(api_client, video, hide_prompt=True)["url"]
    html = client.get(path_of(url)).content.decode()
    for secret in (video.prompt, organization.name, organization.slug, user.email, str(video.pk), str(other_video.pk)):
        assert secret and secret not in html, secret
    assert "/media/" not in html  # no signed member link, no storage path
    assert video.video.name not in html and video.poster.name not in html
    assert 'property="og:title" content="Shared video"' in html


def test_media_streams_through_the_token_with_ranges(client, api_client, video):
    url = path_of(share(api_client, video)["url"])
    ranged = client.get(url + "video.mp4", HTTP_RANGE="bytes=0-99")
    assert ranged.status_code == 206 and ranged["Content-Type"] == "video/mp4"
    assert ranged["Content-Range"].startswith("bytes 0-99/") and len(b"".join(ranged.streaming_content)) == 100
    poster = client.get(url + "poster.webp")
    assert poster.status_code == 200 and poster["Content-Type"] == "image/webp"
    assert ranged["X-Robots-Tag"].startswith("noindex") and "no-store" in ranged["Cache-Control"]
    assert client.get(url.replace("/s/", "/s/x") + "video.mp4").status_code == 404
    assert client.get(url + "frame.png").status_code == 404


def test_revocation_is_immediate_for_page_and_media(client, api_client, video):
    created = share(api_client, video)
    url = path_of(created["url"])
    assert client.get(url).status_code == 200
    revoked = api_client.post(f"/api/v1/share-links/{created['id']}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["active"] is False and revoked.json()["revoked_at"]
    for suffix in ("", "video.mp4", "poster.webp"):
        response = client.get(url + suffix)
        assert response.status_code == 404, suffix
        assert "noindex" in response["X-Robots-Tag"]


def test_expired_link_answers_404(client, api_client, video):
    expires_at = timezone.now() + timedelta(hours=1)
    url = path_of(share(api_client, video, expires_at=expires_at.isoformat())["url"])
    assert client.get(url).status_code == 200
    with time_machine.travel(expires_at + timedelta(seconds=1)):
        assert client.get(url).status_code == 404
        assert client.get(url + "video.mp4").status_code == 404


def test_expiry_in_the_past_and_unfinished_videos_are_refused(api_client, organization, simulator, video):
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    response = api_client.post(
        "/api/v1/share-links/", {"generation_id": str(video.pk), "expires_at": past}, format="json"
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_input"
    queued = create(organization)
    response = api_client.post("/api/v1/share-links/", {"generation_id": str(queued.pk)}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_shareable"


def test_another_organization_cannot_share_see_or_revoke(api_client, other_api_client, video):
    response = other_api_client.post("/api/v1/share-links/", {"generation_id": str(video.pk)}, format="json")
    assert response.status_code == 404
    created = share(api_client, video)
    assert other_api_client.get(f"/api/v1/share-links/{created['id']}/").status_code == 404
    assert other_api_client.post(f"/api/v1/share-links/{created['id']}/revoke/").status_code == 404
    assert other_api_client.get("/api/v1/share-links/").json()["results"] == []
    assert ShareLink.objects.get(pk=created["id"]).revoked_at is None


def test_list_filters_by_generation(api_client, organization, simulator, video):
    other = succeed(organization, simulator)
    share(api_client, video)
    share(api_client, other)
    listed = api_client.get(f"/api/v1/share-links/?generation_id={video.pk}").json()["results"]
    assert [link["generation_id"] for link in listed] == [str(video.pk)]


def test_owner_shares_and_revokes_in_the_browser(browser_client, client, video):
    response = browser_client.post(f"/app/videos/{video.pk}/share/", {"expires_in": "7", "hide_prompt": "on"})
    assert response.status_code == 201
    url = re.search(r'data-testid="share-url" value="([^"]+)"', response.content.decode()).group(1)
    link = ShareLink.objects.get()
    assert link.hide_prompt and link.expires_at > timezone.now() + timedelta(days=6)
    detail = browser_client.get(f"/app/videos/{video.pk}/").content.decode()
    assert url not in detail and "active" in detail  # the URL is never shown again
    public = client.get(path_of(url))
    assert public.status_code == 200 and video.prompt not in public.content.decode()
    browser_client.post(f"/app/share-links/{link.pk}/revoke/")
    assert client.get(path_of(url)).status_code == 404


def test_a_member_of_another_organization_cannot_share_or_revoke(client, api_client, other_organization, video):
    client.force_login(other_organization.memberships.first().user)
    assert client.post(f"/app/videos/{video.pk}/share/").status_code == 404
    created = share(api_client, video)
    assert client.post(f"/app/share-links/{created['id']}/revoke/").status_code == 404
    assert ShareLink.objects.get(pk=created["id"]).revoked_at is None


def test_share_kinds_can_grow():
    assert "generation" in sharing.share_kinds()


def test_operators_revoke_from_the_admin(admin_client, api_client, client, video):
    created = share(api_client, video)
    response = admin_client.post(
        "/admin/generations/sharelink/", {"action": "revoke", "_selected_action": [created["id"]]}
    )
    assert response.status_code == 302
    assert client.get(path_of(created["url"])).status_code == 404
