"""In a real browser: lay out a storyboard (add, remove, reorder shots, upload a frame, live total), watch each
shot's state live, then play and download the film; the editor and the film page at phone width too."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from generations import services as generations
from storyboards import services
from storyboards.models import Storyboard, StoryboardStatus
from tests.e2e.conftest import PHONE, assert_fields_labelled, log_in
from tests.e2e.test_videos import LIVE_TIMEOUT_MS, VIDEO_METADATA_JS, frame_png, simulator  # noqa: F401

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def generous_trial(settings):
    settings.TRIAL_CREDIT_USD = Decimal(1000)


def rows(page):
    return page.locator("[data-shot-row]")


def total(page) -> str:
    return page.get_by_test_id("total-price").inner_text()


def finish_every_shot(sim, storyboard_id) -> Storyboard:
    for _ in range(10):
        generations.dispatch_pending()
        sim.advance(sim.config.latency_s + 1)
        sim.deliver_webhooks()
        storyboard = Storyboard.objects.get(pk=storyboard_id)
        if storyboard.is_terminal:
            return storyboard
    return storyboard


def test_lay_out_a_storyboard_watch_the_shots_and_play_the_film(
    logged_in_page,
    new_page,
    e2e_user,
    simulator,  # noqa: F811
    tmp_path,
    screenshot,
):
    page = logged_in_page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Videos").click()
    page.get_by_role("link", name="Storyboards").click()
    page.get_by_role("link", name="New storyboard").click()
    page.wait_for_url("**/app/storyboards/new/")
    assert_fields_labelled(page)
    expect(rows(page)).to_have_count(3)

    # The total follows the shots and options live, before the button (htmx).
    page.get_by_label("Resolution").select_option("480p")
    three = services.storyboard_quote(organization=e2e_user.organization, resolution="480p", durations=["5"] * 3)
    expect(page.get_by_test_id("total-price")).to_contain_text(f"${three.max_amount:.2f}")
    page.get_by_role("button", name="Add a shot").click()
    expect(rows(page)).to_have_count(4)
    four = services.storyboard_quote(organization=e2e_user.organization, resolution="480p", durations=["5"] * 4)
    expect(page.get_by_test_id("total-price")).to_contain_text(f"${four.max_amount:.2f}")
    rows(page).nth(3).get_by_role("button", name="Remove shot").click()
    expect(rows(page)).to_have_count(3)
    expect(page.get_by_test_id("total-price")).to_contain_text(f"${three.max_amount:.2f}")

    # Prompts, a reorder (the third moves up and becomes the second), a frame for shot 1, 4 s each.
    for index, prompt in enumerate(["The sun touches the sea", "Gulls cross the sky", "The camera pulls back"]):
        rows(page).nth(index).get_by_label("Prompt").fill(prompt)
        rows(page).nth(index).get_by_label("Duration").select_option("4")
    rows(page).nth(2).get_by_role("button", name="Move shot up").click()
    expect(rows(page).nth(1).get_by_label("Prompt")).to_have_value("The camera pulls back")
    expect(rows(page).nth(1).locator("[data-shot-number]")).to_have_text("2")
    rows(page).nth(0).get_by_label("First frame").set_input_files(frame_png(tmp_path))
    expect(rows(page).nth(1).get_by_label("First frame")).to_be_hidden()  # it continues shot 1
    quote = services.storyboard_quote(organization=e2e_user.organization, resolution="480p", durations=["4"] * 3)
    expect(page.get_by_test_id("total-price")).to_contain_text(f"${quote.max_amount:.2f}")
    page.get_by_label("Title (optional)").fill("Sunset")
    screenshot(page, "50-storyboard-editor")

    page.get_by_role("button", name="Make the film").click()
    page.wait_for_url(re.compile(r"/app/storyboards/[0-9a-f-]{36}/$"))
    storyboard = Storyboard.objects.get()
    assert [s.prompt for s in storyboard.shots.order_by("position")] == [
        "The sun touches the sea",
        "The camera pulls back",
        "Gulls cross the sky",
    ]
    expect(page.get_by_test_id("shot-3-status")).to_have_text("Waiting")
    screenshot(page, "51-storyboard-progress")

    page.evaluate("window.__stillTheSamePage = true")
    storyboard = finish_every_shot(simulator, storyboard.pk)
    assert storyboard.status == StoryboardStatus.SUCCEEDED, storyboard.error_message
    expect(page.get_by_test_id("storyboard-status")).to_have_text("Succeeded", timeout=LIVE_TIMEOUT_MS)
    assert page.evaluate("window.__stillTheSamePage === true"), "the page reloaded instead of updating in place"
    for n in (1, 2, 3):
        expect(page.get_by_test_id(f"shot-{n}-status")).to_have_text("Succeeded")

    film = page.get_by_test_id("film")
    assert film.get_attribute("poster")
    duration = page.evaluate(VIDEO_METADATA_JS, film.element_handle())
    assert abs(duration - float(storyboard.duration_seconds)) < 0.5 and abs(duration - 12.0) < 0.5
    poster = page.request.get(film.get_attribute("poster"))
    assert poster.status == 200 and poster.body()[:3] == b"\xff\xd8\xff"
    screenshot(page, "52-storyboard-film")
    with page.expect_download() as download_info:
        page.get_by_test_id("download").click()
    body = Path(download_info.value.path()).read_bytes()
    assert body[4:8] == b"ftyp"

    phone = new_page(viewport=PHONE)
    log_in(phone, e2e_user.email)
    for path, name in [
        ("/app/storyboards/new/", "53-phone-storyboard-editor"),
        (f"/app/storyboards/{storyboard.pk}/", "54-phone-storyboard-film"),
        ("/app/storyboards/", "55-phone-storyboards"),
    ]:
        phone.goto(path)
        screenshot(phone, name)
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"


def test_continue_a_clip_from_its_last_frame_and_see_the_chain(
    logged_in_page,
    new_page,
    e2e_user,
    simulator,  # noqa: F811
    tmp_path,
    screenshot,
):
    from accounts import services as accounts_services
    from generations.catalog import validate_inputs
    from generations.models import Generation
    from tests.generations.test_lifecycle import png_upload

    image = png_upload(size=(320, 180))
    inputs = validate_inputs(prompt="A red square drifts", duration="4", resolution="480p", image=image)
    end_user = accounts_services.end_user_default(organization=e2e_user.organization)
    source = generations.generation_create(
        organization=e2e_user.organization, end_user=end_user, inputs=inputs, image=image
    )
    generations.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()

    page = logged_in_page
    page.goto(f"/app/videos/{source.pk}/")
    page.get_by_test_id("continue").click()
    page.wait_for_url(f"**/app/videos/{source.pk}/continue/")
    assert_fields_labelled(page)
    page.get_by_label("Prompt", exact=True).fill("The square spins and flies away")
    page.get_by_label("Duration").select_option("6")
    expect(page.get_by_test_id("price")).to_contain_text("6 s")
    screenshot(page, "56-continue-form")
    page.get_by_role("button", name="Continue the video").click()
    page.wait_for_url(re.compile(r"/app/videos/[0-9a-f-]{36}/$"))
    continued = Generation.objects.get(continues=source)
    assert continued.duration == "6" and continued.image.name.endswith(".jpg")
    chain = page.get_by_test_id("chain")
    expect(chain).to_contain_text("A red square drifts")
    expect(chain).to_contain_text("The square spins and flies away")
    screenshot(page, "57-continue-chain")

    phone = new_page(viewport=PHONE)
    log_in(phone, e2e_user.email)
    phone.goto(f"/app/videos/{source.pk}/continue/")
    screenshot(phone, "58-phone-continue-form")
    assert phone.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
