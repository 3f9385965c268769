"""In a real browser: a queued video says its place in line and when it starts, and the line moves live."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from generations.models import Generation, Status
from tests.generations.queue_rows import end_user, in_flight_rows, queue_rows

pytestmark = pytest.mark.e2e
LIVE_TIMEOUT_MS = 15_000
P = 200.0


def test_queued_video_says_place_in_line_and_moves_up_live(logged_in_page, e2e_user, settings, screenshot):
    settings.EACHLABS_MAX_IN_FLIGHT = 10
    settings.EACHLABS_EXPECTED_PROCESSING_S = P
    settings.GENERATION_ETA_CACHE_S = 0
    organization = e2e_user.organization
    now = timezone.now()
    # Slots free at +100 s, +200 s, +240 s, then +400 s.
    ends_s = [100, 200, 240] + [400] * 7
    in_flight_rows(organization, [now + timedelta(seconds=end - P) for end in ends_s])
    queued = queue_rows(organization, 3, user=end_user(organization, "someone"), start=now - timedelta(seconds=30))
    page = logged_in_page
    page.goto(f"/app/videos/{queued[2].pk}/")
    line = page.get_by_test_id("queue-estimate")
    expect(line).to_contain_text("3rd in line, starts in about 4 minutes.")
    expect(line).to_contain_text("Should be ready in about 7 minutes.")
    screenshot(page, "40-video-queued-place-in-line")
    # Someone ahead cancels: the page's own refresh moves this video up, with no reload.
    Generation.objects.filter(pk=queued[0].pk).update(status=Status.CANCELED, completed_at=timezone.now())
    expect(line).to_contain_text("2nd in line, starts in about 3 minutes.", timeout=LIVE_TIMEOUT_MS)
    screenshot(page, "41-video-queued-moved-up")
