"""The videos page as a gallery of posters: facts per card, filters, signed poster links, tenancy."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from generations.models import Generation
from tests.factories import UserFactory
from tests.generations.test_lifecycle import create
from tests.generations.test_posters import succeed


@pytest.fixture(autouse=True)
def generous_trial(settings):
    settings.TRIAL_CREDIT_USD = Decimal(1000)


def card(page: str, generation) -> str:
    start = page.index(f'data-generation="{generation.pk}"')
    return page[start : page.index("</li>", start)]


def test_cards_show_poster_status_duration_resolution_and_cost(browser_client, organization, simulator):
    video = succeed(organization, simulator)
    queued = create(organization)
    page = browser_client.get(reverse("generation_list")).content.decode()
    done = card(page, video)
    poster_src = html.unescape(re.search(r'<img src="([^"]+)"[^>]*data-testid="poster"', done).group(1))
    assert poster_src.startswith(f"/media/{video.poster.name}?") and "&s=" in poster_src
    assert f'data-video="/media/{video.video.name}?' in done
    assert "Succeeded" in done and "5.0 s" in done and "480p" in done and f"${video.cost:.2f}" in done
    waiting = card(page, queued)
    assert "data-video" not in waiting and "Queued" in waiting and f"≤ ${queued.estimated_cost:.2f}" in waiting
    # Without JavaScript every card is a plain link to its page.
    assert f'href="/app/videos/{video.pk}/"' in done
    poster = browser_client.get(poster_src)
    assert poster.status_code == 200 and poster["Content-Type"] == "image/webp"


def test_poster_link_is_refused_to_another_organizations_member(client, browser_client, organization, simulator):
    video = succeed(organization, simulator)
    page = browser_client.get(reverse("generation_list")).content.decode()
    poster_src = html.unescape(re.search(r'<img src="([^"]+)"[^>]*data-testid="poster"', card(page, video)).group(1))
    client.force_login(UserFactory())
    assert client.get(poster_src).status_code == 404


def test_filters_by_status_and_date(browser_client, organization, simulator):
    video = succeed(organization, simulator)
    queued = create(organization)
    Generation.objects.filter(pk=queued.pk).update(created_at=timezone.now() - timedelta(days=10))
    url = reverse("generation_list")
    page = browser_client.get(url, {"status": "succeeded"}).content.decode()
    assert str(video.pk) in page and str(queued.pk) not in page
    today = timezone.now().date()
    page = browser_client.get(url, {"created_from": today.isoformat()}).content.decode()
    assert str(video.pk) in page and str(queued.pk) not in page
    page = browser_client.get(url, {"created_to": (today - timedelta(days=5)).isoformat()}).content.decode()
    assert str(video.pk) not in page and str(queued.pk) in page


def test_bad_filter_values_are_ignored_not_errors(browser_client, organization, simulator):
    video = succeed(organization, simulator)
    response = browser_client.get(reverse("generation_list"), {"created_from": "yesterday", "status": "nope"})
    assert response.status_code == 200 and str(video.pk) in response.content.decode()


def test_another_organizations_videos_are_not_in_the_gallery(browser_client, other_organization, simulator):
    theirs = create(other_organization)
    assert str(theirs.pk) not in browser_client.get(reverse("generation_list")).content.decode()


def test_gallery_loads_its_script_from_a_file_and_keeps_polling_with_filters(browser_client, organization, simulator):
    create(organization)
    page = browser_client.get(reverse("generation_list"), {"status": "queued"}).content.decode()
    assert re.search(r'<script src="/static/js/gallery[^"]*\.js" defer></script>', page)
    assert 'hx-get="/app/videos/?status=queued"' in page
