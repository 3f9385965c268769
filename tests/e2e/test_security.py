"""In a real browser: a stored file cannot run script on our origin; admin and API docs work under the policy."""

from __future__ import annotations

import io

import pytest
from django.contrib import admin
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image, PngImagePlugin
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from accounts import services as accounts_services
from generations.media_links import api_link
from generations.models import Generation
from provider_simulator.video import VideoSpec, render_mp4
from tests.e2e.conftest import PASSWORD, log_in
from tests.e2e.test_videos import VIDEO_METADATA_JS
from tests.factories import OrganizationFactory, UserFactory
from tests.generations.test_lifecycle import create

pytestmark = pytest.mark.e2e

# What the attacker's script does if it ever runs: tell a URL of ours (we watch for it) and retitle the page.
PAYLOAD = "<html><script>fetch('/pwned/?c=' + document.cookie); document.title = 'pwned';</script></html>"


def png_with_script() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", PAYLOAD)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def first_frame_link(page, generation: Generation) -> str:
    """The link our own detail page gives the member for the first frame (whatever the URL scheme is)."""
    page.goto(f"/app/videos/{generation.pk}/")
    return page.get_by_role("img", name="First frame").get_attribute("src")


def open_stored_file(page, url: str) -> None:
    """Navigates to the file; a download ends the navigation without a document, which is fine here."""
    try:
        page.goto(url)
    except PlaywrightError as error:
        if "Download is starting" not in str(error):
            raise
    page.wait_for_timeout(500)  # room for a script to run, if one could


@pytest.mark.parametrize(("stored_name", "content"), [("x.html", "png"), ("x.svg", "png"), ("x.png", "html")])
def test_a_stored_file_with_script_never_runs_it_on_our_origin(page, e2e_user, stored_name, content, settings):
    """Before the fix a valid PNG named x.html was served as text/html and its script ran, with our cookies."""
    organization = e2e_user.organization
    generation = create(organization)
    body = png_with_script() if content == "png" else PAYLOAD.encode()
    name = default_storage.save(f"generations/{organization.pk}/inputs/{stored_name}", ContentFile(body))
    Generation.objects.filter(pk=generation.pk).update(image=name)
    log_in(page, e2e_user.email)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    link = first_frame_link(page, generation)
    assert link and stored_name.split(".")[0] in link
    open_stored_file(page, link)

    assert not [url for url in requests if "/pwned/" in url], "the stored file's script ran"
    assert page.title() != "pwned"


def test_the_operators_console_works_under_the_policy(page, screenshot):
    staff = UserFactory(email="operator@example.com", is_staff=True, is_superuser=True)
    staff.set_password(PASSWORD)
    staff.save()
    page.goto("/admin/login/")  # staff log in on allauth's page, with its rate limits
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.locator("#operations-dashboard")).to_be_visible()
    screenshot(page, "50-admin-under-csp")
    generation = create(OrganizationFactory())
    for model in admin.site._registry:
        page.goto(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
        expect(page.locator("#changelist")).to_be_visible()
    page.goto(reverse("admin:generations_generation_change", args=[generation.pk]))
    expect(page.locator("#content")).to_contain_text(str(generation.pk))
    # No CSP violation on any page: the new_page fixture fails the test otherwise.


def test_the_api_docs_render_from_our_own_static_files(page, live_server, screenshot):
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto("/api/docs/")
    expect(page.get_by_text("Seedance Studio API").first).to_be_visible()
    expect(page.get_by_text("/api/v1/generations/").first).to_be_visible()
    screenshot(page, "51-api-docs-under-csp")
    assert all(url.startswith(live_server.url) for url in requests), [
        u for u in requests if not u.startswith(live_server.url)
    ]


def test_a_removed_members_open_page_can_no_longer_load_the_video(new_page, e2e_user):
    """The link in a page left open stops working once the member is removed."""
    organization = e2e_user.organization
    member = UserFactory(email="leaver@example.com")
    member.set_password(PASSWORD)
    member.save()
    membership = accounts_services.membership_add(organization=organization, user=member)
    generation = create(organization)
    page = new_page()
    log_in(page, member.email)
    link = first_frame_link(page, generation)
    assert page.request.get(link).status == 200
    owner = organization.memberships.get(user=e2e_user)
    accounts_services.membership_remove(actor=owner, membership=membership)
    assert page.request.get(link).status == 404


def test_a_video_link_opened_straight_in_a_tab_plays(page, e2e_user, tmp_path):
    """What a partner's end user does with `video_url`: the media policy must not stop the browser's own player."""
    organization = e2e_user.organization
    generation = create(organization)
    spec = VideoSpec(width=64, height=36, duration_s=4, audio=False)
    path = render_mp4(tmp_path / "v.mp4", first=Image.new("RGB", (64, 36), (9, 9, 9)), last=None, spec=spec)
    with open(path, "rb") as handle:
        name = default_storage.save("generations/videos/v.mp4", File(handle))
    Generation.objects.filter(pk=generation.pk).update(video=name)
    api_key, _ = accounts_services.api_key_create(organization=organization, name="partner")

    page.goto(api_link(name=name, api_key=api_key).path)
    video = page.locator("video")
    assert abs(video.evaluate(VIDEO_METADATA_JS) - 4.0) < 0.2
