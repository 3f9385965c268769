"""Signed media links: they expire, they die with the grant they were issued to, and they cannot be forged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from rest_framework.test import APIClient

from accounts import services as accounts_services
from accounts.models import Membership, Role
from generations import services
from generations.media_links import member_link
from generations.models import Generation
from tests.factories import UserFactory
from tests.generations.test_lifecycle import create, png_upload
from tests.webhooks.conftest import receiver  # noqa: F401 -- a real HTTP receiver for webhook tests
from webhooks import services as webhook_services
from webhooks.models import WebhookDelivery


@pytest.fixture
def stored(organization) -> tuple[Generation, str]:
    generation = create(organization)
    return generation, generation.image.name


def _membership(user, organization) -> Membership:
    return Membership.objects.get(user=user, organization=organization)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _expires_at(url: str) -> datetime:
    return datetime.fromtimestamp(int(parse_qs(urlsplit(url).query)["e"][0]), tz=UTC)


def test_a_leaked_browser_link_stops_working_when_it_expires(browser_client, user, organization, stored, settings):
    settings.MEDIA_URL_TTL_S = 600
    _, name = stored
    with time_machine.travel(datetime(2026, 12, 1, 12, 0, tzinfo=UTC), tick=False) as clock:
        url = _path(member_link(name=name, membership=_membership(user, organization)).url)
        assert browser_client.get(url).status_code == 200
        clock.shift(timedelta(seconds=599))
        assert browser_client.get(url).status_code == 200
        clock.shift(timedelta(seconds=1))
        response = browser_client.get(url)
    assert response.status_code == 403 and b"expired" in response.content


def test_a_removed_member_loses_access_at_once(client, organization, stored):
    _, name = stored
    owner = Membership.objects.get(organization=organization, role=Role.OWNER)
    leaver = UserFactory()
    membership = Membership.objects.create(user=leaver, organization=organization, role=Role.MEMBER)
    client.force_login(leaver)
    url = _path(member_link(name=name, membership=membership).url)
    assert client.get(url).status_code == 200
    accounts_services.membership_remove(actor=owner, membership=membership)
    assert client.get(url).status_code == 404


def test_a_browser_link_does_not_work_for_another_tenant_or_anonymously(user, organization, other_organization, stored):
    _, name = stored
    url = _path(member_link(name=name, membership=_membership(user, organization)).url)
    stranger = Client()
    stranger.force_login(Membership.objects.filter(organization=other_organization).first().user)
    assert stranger.get(url).status_code == 404
    assert Client().get(url).status_code == 404


def test_another_tenants_member_cannot_issue_a_link_to_our_file(client, organization, other_organization, stored):
    """A valid signature for the wrong organization: the file is not theirs."""
    _, name = stored
    outsider = Membership.objects.filter(organization=other_organization).first()
    client.force_login(outsider.user)
    assert client.get(_path(member_link(name=name, membership=outsider).url)).status_code == 404


@pytest.mark.parametrize("field", ["s", "e", "o", "g"])
def test_a_tampered_link_answers_403(browser_client, user, organization, stored, field):
    _, name = stored
    url = member_link(name=name, membership=_membership(user, organization)).url
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query[field] = {"s": query["s"][:-2] + "AA", "e": str(int(query["e"]) + 86400), "o": "999", "g": "webhook"}[field]
    response = browser_client.get(f"{parts.path}?{urlencode(query)}")
    assert response.status_code == 403 and response["X-Content-Type-Options"] == "nosniff"


def test_a_link_cannot_be_moved_to_another_file(browser_client, user, organization, stored):
    generation, name = stored
    other = create(organization)
    url = member_link(name=name, membership=_membership(user, organization)).url
    moved = url.replace(name, other.image.name)
    assert browser_client.get(_path(moved)).status_code == 403


def test_api_reads_carry_a_fresh_link_for_the_key_and_a_revoked_key_kills_it(api_client, api_key, organization):
    response = api_client.post(
        "/api/v1/generations/", {"prompt": "drift", "image": png_upload(), "duration": 4}, format="multipart"
    )
    generation_id = response.json()["id"]
    with time_machine.travel(datetime.now(tz=UTC) + timedelta(minutes=10), tick=False):
        body = api_client.get(f"/api/v1/generations/{generation_id}/").json()
    assert body["image_url"] != response.json()["image_url"]  # issued again, with a later expiry
    expires = _expires_at(body["image_url"])
    assert body["media_expires_at"] == expires.isoformat().replace("+00:00", "Z")
    assert timedelta(minutes=69) < expires - datetime.now(tz=UTC) <= timedelta(minutes=70)

    anyone = APIClient()  # the partner hands the link to its own user's browser: no key needed
    assert anyone.get(_path(body["image_url"])).status_code == 200
    accounts_services.api_key_revoke(api_key=api_key)
    assert anyone.get(_path(body["image_url"])).status_code == 404


def test_a_generation_without_stored_media_has_no_expiry(api_client):
    body = api_client.post(
        "/api/v1/generations/",
        {"prompt": "drift", "image_url": "https://partner.example/first.png"},
        format="json",
    ).json()
    assert body["image_url"] == "https://partner.example/first.png" and body["media_expires_at"] is None


def test_the_provider_link_works_while_the_job_runs_then_expires(organization, simulator, settings):
    settings.MEDIA_PROVIDER_URL_TTL_S = 900
    generation = create(organization)
    services.dispatch_pending()
    sent = simulator.job(Generation.objects.get(pk=generation.pk).prediction_id).input["image_url"]
    provider = Client()
    assert provider.get(_path(sent)).status_code == 200
    assert _expires_at(sent) - datetime.now(tz=UTC) <= timedelta(seconds=900)
    with time_machine.travel(datetime.now(tz=UTC) + timedelta(seconds=901)):
        assert provider.get(_path(sent)).status_code == 403
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    assert Generation.objects.get(pk=generation.pk).is_terminal
    assert provider.get(_path(sent)).status_code == 404  # the job is over: the provider has no more business here


def test_webhook_payloads_carry_a_day_long_link(organization, simulator, settings, receiver):  # noqa: F811
    settings.MEDIA_WEBHOOK_URL_TTL_S = 86400
    webhook_services.webhook_endpoint_create(organization=organization, url=receiver.url)
    generation = create(organization)
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    services.generation_publish_terminal_event(generation_id=generation.pk)
    data = WebhookDelivery.objects.get(organization=organization).payload["data"]
    expires = _expires_at(data["video_url"])
    assert data["media_expires_at"] == json.loads(json.dumps(expires.isoformat().replace("+00:00", "Z")))
    assert timedelta(hours=23, minutes=59) < expires - datetime.now(tz=UTC) <= timedelta(hours=24)
    assert Client().get(_path(data["video_url"])).status_code == 200
    with time_machine.travel(expires + timedelta(seconds=1)):
        assert Client().get(_path(data["video_url"])).status_code == 403


def test_with_s3_a_checked_link_redirects_to_a_presigned_url(browser_client, user, organization, stored, settings):
    _, name = stored
    url = _path(member_link(name=name, membership=_membership(user, organization)).url)
    settings.AWS_STORAGE_BUCKET_NAME = "media-bucket"
    settings.AWS_QUERYSTRING_EXPIRE = 120
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "media-bucket",
                "access_key": "AKIATEST",
                "secret_key": "secret",
                "region_name": "eu-west-1",
                "signature_version": "s3v4",
            },
        },
    }
    response = browser_client.get(url)  # changing STORAGES resets default_storage (django.test.signals)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    query = parse_qs(location.query)
    assert "media-bucket" in location.netloc + location.path and name in location.path
    assert query["X-Amz-Expires"] == ["120"] and query["response-content-type"] == ["image/png"]
    assert response["Cache-Control"] == "no-store"

    # A refused link never reaches S3.
    settings.AWS_STORAGE_BUCKET_NAME = "media-bucket"
    assert browser_client.get(url.replace("&s=", "&s=x")).status_code == 403


def test_storage_name_with_a_stored_upload_round_trips(browser_client, user, organization):
    generation = create(organization)
    name = default_storage.save(f"generations/{organization.pk}/inputs/extra.png", ContentFile(b"abc"))
    Generation.objects.filter(pk=generation.pk).update(end_image=name)
    url = _path(member_link(name=name, membership=_membership(user, organization)).url)
    assert b"".join(browser_client.get(url).streaming_content) == b"abc"
