"""Media answers: the type comes from the stored extension's allow-list, never sniffed, sandboxed, ranged, streamed."""

from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, PngImagePlugin

from accounts.models import Membership
from generations.media_links import member_link
from generations.models import Generation
from seedance_saas.media import MEDIA_CSP, VIDEO_CSP
from tests.generations.test_lifecycle import create

SCRIPT = b"<script>document.title='pwned'</script>"


def png_with_script() -> bytes:
    """A valid PNG whose text chunk holds HTML with a script (what an attacker uploads as x.html)."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SCRIPT.decode())
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def stored_as(generation: Generation, name: str, content: bytes) -> str:
    """Puts `content` straight into storage under `name` and makes it the generation's first frame."""
    stored = default_storage.save(name, ContentFile(content))
    Generation.objects.filter(pk=generation.pk).update(image=stored)
    return stored


@pytest.fixture
def member_url(user, organization):
    membership = Membership.objects.get(user=user, organization=organization)
    return lambda name: member_link(name=name, membership=membership).url


@pytest.mark.parametrize("extension", ["html", "svg", "xhtml", "js"])
def test_a_png_stored_under_a_script_capable_name_is_a_sandboxed_download(
    browser_client, organization, member_url, extension
):
    name = stored_as(create(organization), f"generations/{organization.pk}/inputs/x.{extension}", png_with_script())
    response = browser_client.get(member_url(name))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == "attachment"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == MEDIA_CSP
    assert SCRIPT in b"".join(response.streaming_content)


def test_the_old_permanent_media_path_no_longer_serves_files(browser_client, organization):
    """Before: /media/<name> answered anyone, forever, with a type guessed from the name (text/html here)."""
    name = stored_as(create(organization), f"generations/{organization.pk}/inputs/x.html", png_with_script())
    response = browser_client.get(f"/media/{name}")
    assert response.status_code == 403
    assert SCRIPT not in response.content
    assert response["Content-Security-Policy"] == MEDIA_CSP


@pytest.mark.parametrize(
    ("extension", "content_type"),
    [("png", "image/png"), ("jpg", "image/jpeg"), ("jpeg", "image/jpeg"), ("webp", "image/webp"), ("mp4", "video/mp4")],
)
def test_allowed_media_types_are_shown_inline(browser_client, organization, member_url, extension, content_type):
    name = stored_as(create(organization), f"generations/{organization.pk}/inputs/f.{extension}", b"0123456789")
    response = browser_client.get(member_url(name))
    assert response.status_code == 200 and response["Content-Type"] == content_type
    assert "Content-Disposition" not in response and response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == (VIDEO_CSP if extension == "mp4" else MEDIA_CSP)
    assert response["Accept-Ranges"] == "bytes" and response["Content-Length"] == "10"
    assert response.streaming, "media must be streamed, not read into memory"


def test_no_media_policy_lets_a_script_run():
    for policy in (MEDIA_CSP, VIDEO_CSP):
        directives = dict(d.strip().partition(" ")[::2] for d in policy.split(";"))
        assert directives["default-src"] == "'none'" and "script-src" not in directives


def test_byte_ranges_let_the_player_seek(browser_client, organization, member_url):
    name = stored_as(create(organization), f"generations/{organization.pk}/inputs/v.mp4", bytes(range(100)))
    url = member_url(name)

    middle = browser_client.get(url, HTTP_RANGE="bytes=10-19")
    assert middle.status_code == 206 and middle["Content-Range"] == "bytes 10-19/100"
    assert b"".join(middle.streaming_content) == bytes(range(10, 20)) and middle["Content-Length"] == "10"

    open_ended = browser_client.get(url, HTTP_RANGE="bytes=95-")
    assert open_ended.status_code == 206 and b"".join(open_ended.streaming_content) == bytes(range(95, 100))

    suffix = browser_client.get(url, HTTP_RANGE="bytes=-3")
    assert suffix["Content-Range"] == "bytes 97-99/100" and b"".join(suffix.streaming_content) == bytes([97, 98, 99])

    past_end = browser_client.get(url, HTTP_RANGE="bytes=100-200")
    assert past_end.status_code == 416 and past_end["Content-Range"] == "bytes */100"

    several = browser_client.get(url, HTTP_RANGE="bytes=0-1,5-6")  # we may answer with the whole file
    assert several.status_code == 200 and len(b"".join(several.streaming_content)) == 100


def test_a_missing_file_answers_404_not_500(browser_client, organization, member_url):
    generation = create(organization)
    name = f"generations/{organization.pk}/inputs/gone.png"
    Generation.objects.filter(pk=generation.pk).update(image=name)
    assert browser_client.get(member_url(name)).status_code == 404
