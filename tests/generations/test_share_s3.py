"""With media on S3: the poster is made and stored in the bucket, and a share link's media redirects to a
short-lived presigned URL (never a guessable path) only while the link is active."""

from __future__ import annotations

import io
import re
import time
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx

from generations import services, share_views
from generations.models import Generation, Status
from tests.generations.test_s3_media import png, s3, stored_bytes  # noqa: F401 -- the moto S3 fixture


def test_share_media_on_s3_redirects_to_short_presigned_urls_until_revoked(s3, simulator, api_client, client, settings):  # noqa: F811
    settings.TRIAL_CREDIT_USD = Decimal(100)
    upload = io.BytesIO(png())
    upload.name = "frame.png"
    created = api_client.post(
        "/api/v1/generations/",
        {"prompt": "a slow pan", "resolution": "480p", "duration": "5", "image": upload},
        format="multipart",
    )
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    generation = Generation.objects.get(pk=created.json()["id"])
    assert generation.status == Status.SUCCEEDED and generation.poster
    assert stored_bytes(s3, generation.poster.name)[8:12] == b"WEBP"

    link = api_client.post("/api/v1/share-links/", {"generation_id": str(generation.pk)}, format="json").json()
    path = urlsplit(link["url"]).path
    redirect = client.get(path + "video.mp4")
    assert redirect.status_code == 302 and redirect["Cache-Control"] == "no-store"
    presigned = redirect["Location"]
    query = parse_qs(urlsplit(presigned).query)
    expires_at = int(query["Expires"][0])  # SigV2-style here; the test server's clock is ours
    assert expires_at - time.time() <= share_views.SHARE_S3_URL_TTL_S + 5
    assert not re.search(r"/s/", presigned)  # the token never reaches the storage URL
    assert httpx.get(presigned).content == stored_bytes(s3, generation.video.name)

    api_client.post(f"/api/v1/share-links/{link['id']}/revoke/")
    assert client.get(path + "video.mp4").status_code == 404
