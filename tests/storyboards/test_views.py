"""Storyboard pages: the editor and its live total, the progress page, the film with its poster, retry, tenancy."""

from __future__ import annotations

from decimal import Decimal

from storyboards import services
from storyboards.models import Storyboard, StoryboardStatus
from tests.factories import OrganizationFactory, UserFactory
from tests.generations.test_lifecycle import png_upload
from tests.storyboards.conftest import committing, make, reload, run, shot


def editor_post(**extra) -> dict:
    return {
        "title": "Two shots",
        "resolution": "480p",
        "aspect_ratio": "16:9",
        "generate_audio": "on",
        "shot_count": "2",
        "shot_1_prompt": "waves roll in",
        "shot_1_duration": "4",
        "shot_1_image": png_upload(),
        "shot_2_prompt": "the camera rises",
        "shot_2_duration": "6",
        "shot_2_continue": "1",
        **extra,
    }


def test_editor_shows_the_total_price_and_updates_it_live(browser_client, organization):
    page = browser_client.get("/app/storyboards/new/")
    assert page.status_code == 200 and b'data-testid="total-price"' in page.content
    assert b"<script>" not in page.content  # CSP: no inline scripts
    quote = services.storyboard_quote(organization=organization, resolution="480p", durations=["4", "6", "8"])
    response = browser_client.get(
        "/app/storyboards/new/price/",
        {
            "resolution": "480p",
            "shot_count": "3",
            "shot_1_duration": "4",
            "shot_2_duration": "6",
            "shot_3_duration": "8",
        },
    )
    assert f"${quote.max_amount:.2f}".encode() in response.content
    assert quote.max_amount == sum((q.max_amount for q in quote.lines), Decimal(0)) > 0


def test_editor_creates_the_storyboard_and_the_film_page_plays_it(browser_client, organization, simulator):
    with committing():
        response = browser_client.post("/app/storyboards/new/", editor_post())
    assert response.status_code == 302, response.content.decode()[:2000]
    storyboard = Storyboard.objects.get()
    assert [s.continue_previous for s in storyboard.shots.all()] == [False, True]
    page = browser_client.get(response["Location"]).content.decode()
    assert 'data-testid="shot-1-status"' in page
    run(simulator)
    assert reload(storyboard).status == StoryboardStatus.SUCCEEDED
    page = browser_client.get(f"/app/storyboards/{storyboard.pk}/").content.decode()
    assert 'data-testid="film"' in page and 'poster="' in page and "download" in page
    film_link = page.split('data-testid="film"')[1].split('src="')[1].split('"')[0].replace("&amp;", "&")
    assert browser_client.get(film_link).status_code == 200


def test_editor_refuses_a_chained_first_shot_naming_the_row(browser_client, organization, simulator):
    response = browser_client.post("/app/storyboards/new/", editor_post(shot_1_continue="1"))
    assert response.status_code == 400 and b"nothing to continue" in response.content
    assert not Storyboard.objects.exists()


def test_a_failed_shot_shows_why_and_retry_shot_resumes(browser_client, organization, simulator):
    storyboard = make(organization, [shot("one"), shot("two", chained=True)])
    run(simulator, rounds=1)
    simulator.force_next(status_code=400, message="Refused by the provider.", method="POST")
    run(simulator)
    page = browser_client.get(f"/app/storyboards/{storyboard.pk}/").content.decode()
    assert "Shot 2 failed" in page and "Refused by the provider." in page and 'data-testid="retry-2"' in page
    with committing():
        response = browser_client.post(f"/app/storyboards/{storyboard.pk}/shots/2/retry/")
    assert response.status_code == 302
    run(simulator)
    assert reload(storyboard).status == StoryboardStatus.SUCCEEDED


def test_another_organizations_storyboard_is_404_in_the_browser(client, organization, simulator):
    storyboard = make(organization, [shot(), shot(chained=True)])
    stranger = UserFactory()
    OrganizationFactory(owner=stranger)
    client.force_login(stranger)
    assert client.get(f"/app/storyboards/{storyboard.pk}/").status_code == 404
    assert client.post(f"/app/storyboards/{storyboard.pk}/shots/1/retry/").status_code == 404
