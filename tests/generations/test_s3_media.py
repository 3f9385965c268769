"""Media on S3 for real: a moto S3 server on a port, frames uploaded through the API, the finished MP4 stored,
and the signed link redirecting to a presigned URL that downloads the bytes (issue 12, 3)."""

from __future__ import annotations

import io
from decimal import Decimal
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from generations import services
from generations.models import Generation, Status
from tests.stack import free_port

moto_server = pytest.importorskip(
    "moto.server", reason="moto[server] is not installed: pip install -r requirements-dev.txt"
)
boto3 = pytest.importorskip("boto3", reason="boto3 is not installed: pip install -r requirements.txt")

BUCKET = "seedance-media-test"


@pytest.fixture
def s3(settings):
    """A real S3-compatible server (moto) on 127.0.0.1, with the bucket, wired into STORAGES."""
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    credentials = {"aws_access_key_id": "test-key", "aws_secret_access_key": "test-secret"}
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **credentials)
    client.create_bucket(Bucket=BUCKET)
    settings.AWS_STORAGE_BUCKET_NAME = BUCKET
    settings.AWS_S3_ENDPOINT_URL = endpoint
    settings.AWS_S3_REGION_NAME = "us-east-1"
    settings.AWS_ACCESS_KEY_ID = credentials["aws_access_key_id"]
    settings.AWS_SECRET_ACCESS_KEY = credentials["aws_secret_access_key"]
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage"}}
    yield client
    server.stop()


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), (30, 90, 160)).save(buffer, "PNG")
    return buffer.getvalue()


def stored_bytes(client, key: str) -> bytes:
    return client.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_frames_and_videos_live_in_s3_and_links_redirect_to_presigned_urls(s3, simulator, api_client, settings):
    settings.TRIAL_CREDIT_USD = Decimal(100)
    frame = png()
    upload = io.BytesIO(frame)
    upload.name = "frame.png"
    created = api_client.post(
        "/api/v1/generations/",
        {"prompt": "a slow pan", "resolution": "480p", "duration": "5", "end_user_id": "c-1", "image": upload},
        format="multipart",
    )
    assert created.status_code == 201, created.content
    generation = Generation.objects.get(pk=created.json()["id"])
    assert stored_bytes(s3, generation.image.name) == frame  # the frame went to the bucket, not the disk

    assert services.dispatch_pending() == 1
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    generation.refresh_from_db()
    assert generation.status == Status.SUCCEEDED, generation.error_message
    video = stored_bytes(s3, generation.video.name)
    assert video[4:8] == b"ftyp" and len(video) > 1000  # the finished MP4 is in the bucket

    video_url = api_client.get(f"/api/v1/generations/{generation.pk}/").json()["video_url"]
    link = urlsplit(video_url)
    redirect = api_client.get(f"{link.path}?{link.query}")
    assert redirect.status_code == 302
    presigned = redirect["Location"]
    assert presigned.startswith(settings.AWS_S3_ENDPOINT_URL) and "Signature" in presigned
    download = httpx.get(presigned)
    assert download.status_code == 200
    assert download.content == video
    assert download.headers["Content-Type"] == "video/mp4"
