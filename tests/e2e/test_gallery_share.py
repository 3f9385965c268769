"""In a real browser: variations side by side, the gallery of posters (hover plays; tap on a phone), and a public
share link (Open Graph, noindex, nothing of the organization, revoked at once), at desktop and phone widths."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from generations import services
from generations.eachlabs.client import reset_client
from generations.models import Generation, Status
from provider_simulator import set_simulator
from tests.e2e.conftest import PHONE, REPORT_CSP_VIOLATIONS_JS, is_csp_violation, log_in
from tests.e2e.test_videos import PLAY_JS, frame_png
from tests.generations.conftest import install_test_simulator
from tests.generations.test_lifecycle import create

pytestmark = pytest.mark.e2e
LIVE_TIMEOUT_MS = 15_000
IMAGE_LOADED_JS = "img => img.complete && img.naturalWidth > 0"
HOVER_PLAYING_JS = """
async (link) => {
  for (let i = 0; i < 50; i++) {
    const video = link.querySelector("video");
    if (video && video.currentTime > 0) return video.currentTime;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return 0;
}
"""


@pytest.fixture(autouse=True)
def generous_trial(settings):
    settings.TRIAL_CREDIT_USD = Decimal(1000)


@pytest.fixture
def simulator(settings, live_server, tmp_path):
    """The in-process provider pointed at the live server (as in test_videos: SITE_URL first)."""
    settings.SITE_URL = live_server.url
    settings.EACHLABS_SIMULATOR_BACKGROUND = False
    settings.EACHLABS_SIMULATOR_DIR = tmp_path / "eachlabs-default"
    yield install_test_simulator(settings=settings, tmp_path=tmp_path, site_url=live_server.url)
    set_simulator(None)
    reset_client()


@pytest.fixture
def phone_page(browser, live_server, csp_violations):
    """A phone: 390 px wide, touch, no hover (so the gallery plays on tap), failing on any CSP violation."""
    contexts = []

    def make():
        context = browser.new_context(base_url=live_server.url, viewport=PHONE, is_mobile=True, has_touch=True)
        context.set_default_timeout(15_000)
        context.add_init_script(REPORT_CSP_VIOLATIONS_JS)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: is_csp_violation(message.text) and csp_violations.append(message.text))
        return page

    yield make
    for context in contexts:
        context.close()


def finish_all(simulator) -> None:
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()


def no_overflow(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{page.url} scrolls sideways by {overflow} px"


def test_variations_then_gallery_plays_on_hover_and_filters(
    page, phone_page, e2e_user, simulator, tmp_path, screenshot
):
    log_in(page, e2e_user.email)
    page.goto("/app/videos/new/")
    page.get_by_label("First frame").set_input_files(frame_png(tmp_path))
    page.get_by_label("Prompt", exact=True).fill("Waves roll in under a low sun.")
    page.get_by_label("Resolution").select_option("480p")
    page.get_by_label("Duration").select_option("5")
    expect(page.get_by_test_id("price")).to_contain_text("$0.71")
    page.get_by_label("Variations").select_option("3")
    expect(page.get_by_test_id("group-price")).to_contain_text("$2.12")  # 3 x $0.7060, shown before the click
    expect(page.get_by_text("does not make results identical")).to_be_visible()
    screenshot(page, "50-variations-form")
    page.get_by_role("button", name="Generate video").click()
    page.wait_for_url(re.compile(r"/app/videos/variations/[0-9a-f-]{36}/$"))
    assert Generation.objects.filter(variation_group__isnull=False).count() == 3

    finish_all(simulator)
    cards = page.get_by_test_id("variation")
    expect(cards).to_have_count(3)
    for index in range(3):
        expect(cards.nth(index).get_by_test_id("status")).to_have_text("Succeeded", timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#variation-group video")).to_have_count(3)
    boxes = [cards.nth(i).bounding_box() for i in range(3)]
    assert boxes[0]["y"] == boxes[1]["y"], "variations are not side by side on a desktop"
    screenshot(page, "51-variations-side-by-side")

    # One single video too, so the kind filter has something to tell apart.
    page.goto("/app/videos/new/")
    page.get_by_label("First frame").set_input_files(frame_png(tmp_path))
    page.get_by_label("Prompt", exact=True).fill("A single slow pan.")
    page.get_by_label("Resolution").select_option("480p")
    page.get_by_label("Duration").select_option("5")
    page.get_by_role("button", name="Generate video").click()
    page.wait_for_url(re.compile(r"/app/videos/[0-9a-f-]{36}/$"))
    finish_all(simulator)
    assert Generation.objects.filter(status=Status.SUCCEEDED).count() == 4

    page.goto("/app/videos/")
    posters = page.get_by_test_id("poster")
    expect(posters).to_have_count(4)
    for index in range(4):
        posters.nth(index).scroll_into_view_if_needed()
        expect(posters.nth(index)).to_be_visible()
        page.wait_for_function(IMAGE_LOADED_JS, arg=posters.nth(index).element_handle())
    first = page.locator("a.poster[data-video]").first
    first.hover()
    assert page.evaluate(HOVER_PLAYING_JS, first.element_handle()) > 0, "hovering a poster did not play its video"
    screenshot(page, "52-gallery-hover")
    page.mouse.move(0, 0)
    expect(first.locator("video")).to_have_count(0)

    page.get_by_label("Kind").select_option("variations")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("poster")).to_have_count(3)
    page.get_by_label("Kind").select_option("single")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("poster")).to_have_count(1)
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No videos match these filters")).to_be_visible()
    screenshot(page, "53-gallery-filtered")

    phone = phone_page()
    log_in(phone, e2e_user.email)
    phone.goto("/app/videos/")
    expect(phone.get_by_test_id("poster")).to_have_count(4)
    no_overflow(phone)
    tapped = phone.locator("a.poster[data-video]").first
    tapped.tap()
    assert phone.evaluate(HOVER_PLAYING_JS, tapped.element_handle()) > 0, "a tap did not play the video"
    assert phone.url.endswith("/app/videos/"), "a tap on the poster should play in place, not navigate"
    screenshot(phone, "54-phone-gallery")


def test_gallery_without_javascript_is_a_plain_grid(browser, live_server, e2e_user, simulator, screenshot):
    generation = create(e2e_user.organization)
    finish_all(simulator)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False, viewport=PHONE)
    page = context.new_page()
    log_in(page, e2e_user.email)  # a plain form post: no script needed
    page.goto("/app/videos/")
    expect(page.get_by_test_id("poster")).to_have_count(1)
    page.locator("a.poster").first.click()
    page.wait_for_url(f"**/app/videos/{generation.pk}/")
    screenshot(page, "55-phone-gallery-no-js-detail")
    context.close()


def test_share_link_public_page_previews_hides_and_revokes(page, new_page, phone_page, e2e_user, simulator, screenshot):
    generation = create(e2e_user.organization)
    finish_all(simulator)
    generation.refresh_from_db()
    assert generation.status == Status.SUCCEEDED and generation.poster

    log_in(page, e2e_user.email)
    page.goto(f"/app/videos/{generation.pk}/")
    page.get_by_label("Expires").select_option("7")
    page.get_by_label("Hide the prompt").check()
    page.get_by_role("button", name="Create share link").click()
    url = page.get_by_test_id("share-url").input_value()
    assert re.fullmatch(rf"{re.escape(site_of(page))}/s/[A-Za-z0-9_-]{{43}}/", url)
    screenshot(page, "56-share-link-created")

    visitor = new_page()  # nobody signed in
    response = visitor.goto(url)
    assert response.status == 200 and "noindex" in response.headers["x-robots-tag"]
    assert visitor.locator('meta[name="robots"]').get_attribute("content").startswith("noindex")
    assert visitor.locator('meta[property="og:video"]').get_attribute("content") == url + "video.mp4"
    assert visitor.locator('meta[property="og:image"]').get_attribute("content") == url + "poster.webp"
    assert visitor.locator('meta[property="og:title"]').get_attribute("content") == "Shared video"
    text = visitor.content()
    for secret in (generation.prompt, "Acme Studio", e2e_user.email, str(generation.pk)):
        assert secret not in text, secret
    video = visitor.get_by_test_id("shared-video")
    assert visitor.evaluate(PLAY_JS, video.element_handle()) > 0, "the shared video did not play"
    screenshot(visitor, "57-share-public-desktop")

    phone = phone_page()
    phone.goto(url)
    expect(phone.get_by_test_id("shared-video")).to_be_visible()
    no_overflow(phone)
    screenshot(phone, "58-share-public-phone")

    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("Share link revoked")).to_be_visible()
    gone = visitor.goto(url)
    assert gone.status == 404
    expect(visitor.get_by_role("heading", name="This link is not available")).to_be_visible()
    assert visitor.request.get(url + "video.mp4").status == 404
    screenshot(visitor, "59-share-revoked")


def site_of(page) -> str:
    return re.match(r"https?://[^/]+", page.url).group(0)
