"""In a real browser: upload a frame, watch the live price, create, see the status change live, play, pay."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core import mail
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from billing.models import UsageRecord
from generations.eachlabs.client import reset_client
from generations.models import Generation, Status
from provider_simulator import set_simulator
from tests.e2e.conftest import PASSWORD, PHONE, assert_fields_labelled, log_in
from tests.generations.conftest import install_test_simulator

pytestmark = pytest.mark.e2e

# Waits on the page's own 2 s htmx poll, with room for a loaded machine.
LIVE_TIMEOUT_MS = 15_000
VIDEO_METADATA_JS = """
async (video) => {
  if (video.readyState < 1) {
    await new Promise((resolve, reject) => {
      video.addEventListener("loadedmetadata", resolve, { once: true });
      video.addEventListener("error", () => reject(new Error("video error " + (video.error && video.error.code))), {
        once: true,
      });
    });
  }
  return video.duration;
}
"""
NAV_CLIPPED_JS = """
() => {
  const nav = document.querySelector('nav[aria-label="Main"]').getBoundingClientRect();
  return [...document.querySelectorAll('nav[aria-label="Main"] a')]
    .filter((a) => a.getBoundingClientRect().right > nav.right + 1)
    .map((a) => a.textContent.trim());
}
"""
PLAY_JS = """
async (video) => {
  video.muted = true;
  await video.play();
  await new Promise((resolve) => setTimeout(resolve, 600));
  const playedTo = video.currentTime;
  video.pause();
  return playedTo;
}
"""


@pytest.fixture
def simulator(settings, live_server, tmp_path):
    """The in-process provider, as in tests/generations, but pointed at the live server the browser uses.

    Uploaded frames and webhook URLs are built from SITE_URL, so it must be the live server's address before
    anything is created; webhooks to it reach the app in-process from the test thread.
    """
    settings.SITE_URL = live_server.url
    settings.EACHLABS_SIMULATOR_BACKGROUND = False
    settings.EACHLABS_SIMULATOR_DIR = tmp_path / "eachlabs-default"
    yield install_test_simulator(settings=settings, tmp_path=tmp_path, site_url=live_server.url)
    set_simulator(None)
    reset_client()


def frame_png(tmp_path: Path) -> Path:
    """A 640x360 frame with a horizon and a sun, so the preview and the video show something recognisable."""
    image = Image.new("RGB", (640, 360), (32, 96, 160))
    draw = ImageDraw.Draw(image)
    for y in range(200, 360):
        draw.line([(0, y), (640, y)], fill=(20, 60 + (y - 200) // 2, 120))
    draw.ellipse([440, 60, 540, 160], fill=(250, 200, 80))
    path = tmp_path / "sunset.png"
    image.save(path, "PNG")
    return path


def sign_up(page, email: str) -> None:
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_url("**/app/")
    # The trial credit unlocks with a verified address: follow the link in the mail, as a person would.
    message = [sent for sent in mail.outbox if email in sent.to][-1]
    page.goto(re.search(r"(/accounts/confirm-email/[^\s/]+/)", message.body).group(1))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_load_state()


def price(page) -> str:
    return page.get_by_test_id("price").inner_text()


def test_make_a_video_watch_it_finish_play_it_and_see_the_spend(page, new_page, simulator, tmp_path, screenshot):
    sign_up(page, "director@example.com")
    clipped = page.evaluate(NAV_CLIPPED_JS)
    assert not clipped, f"main menu entries hidden behind the account bar at 1280 px: {clipped}"
    page.get_by_role("navigation", name="Main").get_by_role("link", name="New video").click()
    page.wait_for_url("**/app/videos/new/")
    assert_fields_labelled(page)

    page.get_by_label("First frame").set_input_files(frame_png(tmp_path))
    preview = page.get_by_role("img", name="Preview of the first frame")
    expect(preview).to_be_visible()
    assert page.evaluate("img => img.naturalWidth", preview.element_handle()) == 640

    # The price under the form follows the options (htmx swaps in the quote partial), before the button.
    default_price = price(page)
    assert "720p" in default_price and "–" in default_price  # auto duration: a range
    page.get_by_label("Resolution").select_option("480p")
    expect(page.get_by_test_id("price")).to_contain_text("at 480p")
    page.get_by_label("Duration").select_option("5")
    expect(page.get_by_test_id("price")).to_contain_text("$0.71")
    assert "5 s" in price(page) and "–" not in price(page)
    page.get_by_label("Resolution").select_option("720p")
    expect(page.get_by_test_id("price")).to_contain_text("at 720p")
    page.get_by_label("Resolution").select_option("480p")
    expect(page.get_by_test_id("price")).to_contain_text("$0.71")
    page.get_by_label("Prompt", exact=True).fill("The sun sinks into the sea as the camera pushes in slowly.")
    page.get_by_label("Aspect ratio").select_option("16:9")
    screenshot(page, "30-new-video-form")

    page.get_by_role("button", name="Generate video").click()
    page.wait_for_url(re.compile(r"/app/videos/[0-9a-f-]{36}/$"))
    generation = Generation.objects.get()
    assert (generation.resolution, generation.duration, generation.aspect_ratio) == ("480p", "5", "16:9")
    status = page.locator("#generation-panel").get_by_test_id("status")
    expect(status).to_have_text(re.compile("Queued|Submitting|Processing"))
    assert generation.status in (Status.QUEUED, Status.SUBMITTING, Status.PROCESSING)
    screenshot(page, "31-video-processing")

    # Mark this document: if the page reloaded, the mark would be gone.
    page.evaluate("window.__stillTheSamePage = true")
    simulator.advance(simulator.config.latency_s + 1)
    assert simulator.deliver_webhooks() >= 1
    expect(status).to_have_text("Succeeded", timeout=LIVE_TIMEOUT_MS)
    assert page.evaluate("window.__stillTheSamePage === true"), "the page reloaded instead of updating in place"
    generation.refresh_from_db()
    assert generation.status == Status.SUCCEEDED and generation.cost > 0
    # The cost and the timeline outside the panel follow it (htmx out-of-band swaps), still without a reload.
    expect(page.get_by_test_id("cost")).to_have_text(f"${generation.cost:.4f}")
    expect(page.locator("#generation-timeline")).to_contain_text("Succeeded")
    assert page.evaluate("window.__stillTheSamePage === true")

    video = page.get_by_test_id("video")
    duration = page.evaluate(VIDEO_METADATA_JS, video.element_handle())
    assert duration is not None and 3 < duration < 60, f"the player reports {duration} s"
    assert abs(duration - float(generation.duration_seconds)) < 0.5
    assert page.evaluate(PLAY_JS, video.element_handle()) > 0, "the video did not play"
    screenshot(page, "32-video-ready")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download MP4").click()
    download = download_info.value
    body = Path(download.path()).read_bytes()
    assert download.suggested_filename.endswith(".mp4") and body[4:8] == b"ftyp" and len(body) > 1000

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Videos").click()
    row = page.locator(f'tr[data-generation="{generation.pk}"]')
    expect(row.get_by_test_id("status")).to_have_text("Succeeded")
    assert f"${generation.cost:.2f}" in row.inner_text()
    screenshot(page, "33-videos-list")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Billing").click()
    record = UsageRecord.objects.get(source_id=generation.pk)
    assert record.amount == generation.cost
    assert page.get_by_test_id("spent").inner_text() == f"${generation.cost:.2f}"
    usage = page.locator("section", has=page.get_by_role("heading", name="Recent usage"))
    assert f"${generation.cost:.4f}" in usage.inner_text()
    screenshot(page, "34-billing")

    phone = new_page(viewport=PHONE)
    log_in(phone, "director@example.com")
    for path, name in [
        ("/app/videos/new/", "36-phone-new-video"),
        (f"/app/videos/{generation.pk}/", "37-phone-video"),
        ("/app/videos/", "38-phone-videos"),
        ("/app/billing/", "39-phone-billing"),
    ]:
        phone.goto(path)
        screenshot(phone, name)
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"


def test_a_text_file_named_png_is_refused_next_to_the_field(page, simulator, screenshot):
    sign_up(page, "careful@example.com")
    page.goto("/app/videos/new/")
    # The browser sees a .png name and an image/png type; only the server, reading the bytes, can tell.
    page.get_by_label("First frame").set_input_files(
        {"name": "notes.png", "mimeType": "image/png", "buffer": b"these are my notes, not a picture\n"}
    )
    page.get_by_label("Prompt", exact=True).fill("A calm lake.")
    page.get_by_role("button", name="Generate video").click()
    field = page.locator(".field.has-error", has=page.get_by_label("First frame"))
    expect(field.locator(".errorlist")).to_contain_text("not a readable image")
    described_by = page.get_by_label("First frame").get_attribute("aria-describedby") or ""
    assert "id_image_error" in described_by
    screenshot(page, "35-new-video-bad-upload")
    assert not Generation.objects.exists()
    # The other choices survive the round trip.
    assert page.get_by_label("Prompt", exact=True).input_value() == "A calm lake."
