"""Queue position and estimated start/finish: the forward simulation, the API fields and the browser's words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from generations import queue_estimates
from generations.models import Generation, Status
from generations.services.provider_keys import provider_key_state
from generations.templatetags.queue import about
from tests.generations.queue_rows import (
    claim_all,
    end_user,
    in_flight_rows,
    queue_rows,
    set_plan,
)

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
P = 200.0  # the learned processing time in these tests (no history yet: the configured guess)


@pytest.fixture(autouse=True)
def pool(settings):
    settings.EACHLABS_MAX_IN_FLIGHT = 10
    settings.EACHLABS_EXPECTED_PROCESSING_S = P
    settings.GENERATION_ETA_CACHE_S = 0
    settings.GENERATION_ETA_ARRIVALS_WINDOW_S = 0  # no forecast arrivals, except where a test turns them on


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def test_ten_in_flight_and_three_queued_start_as_the_first_three_slots_free(organization, clock):
    # Ends at +10, +20, ..., +100 s.
    in_flight_rows(organization, [at(10 * k - P) for k in range(1, 11)])
    queued = queue_rows(organization, 3, start=at(-30))
    estimates = queue_estimates.simulate(now=timezone.now())
    got = [estimates[str(g.pk)] for g in queued]
    assert [e.queue_position for e in got] == [1, 2, 3]
    assert [e.estimated_start_at for e in got] == [at(10), at(20), at(30)]
    assert [e.estimated_finish_at for e in got] == [at(10 + P), at(20 + P), at(30 + P)]


def test_a_job_past_its_expected_end_frees_its_slot_now_and_a_free_slot_starts_at_once(organization, clock):
    in_flight_rows(organization, [at(-P - 60)] + [at(0)] * 8)  # one overdue, eight just sent, one slot free
    first, second, third = queue_rows(organization, 3, start=at(-30))
    estimates = queue_estimates.simulate(now=timezone.now())
    assert estimates[str(first.pk)].estimated_start_at == at(0)
    assert estimates[str(second.pk)].estimated_start_at == at(0)
    assert estimates[str(third.pk)].estimated_start_at == at(P)


def test_weights_order_the_queue_as_the_dispatcher_will(organization, other_organization, clock, settings):
    settings.EACHLABS_MAX_IN_FLIGHT = 1
    set_plan(organization, weight=3)
    set_plan(other_organization, weight=1)
    in_flight_rows(other_organization, [at(60 - P)])
    light = queue_rows(other_organization, 2, start=at(-100))
    heavy = queue_rows(organization, 4, start=at(-50))
    estimates = queue_estimates.simulate(now=timezone.now())
    expected = [light[0], heavy[0], heavy[1], heavy[2], light[1], heavy[3]]
    assert sorted(estimates, key=lambda pk: estimates[pk].queue_position) == [str(g.pk) for g in expected]
    assert [estimates[str(g.pk)].estimated_start_at for g in expected] == [at(60 + k * P) for k in range(6)]


def test_a_light_organizations_start_counts_the_heavier_ones_coming_arrivals(
    organization, other_organization, clock, settings
):
    settings.EACHLABS_MAX_IN_FLIGHT = 1
    settings.GENERATION_ETA_ARRIVALS_WINDOW_S = 900
    set_plan(organization, weight=3)
    set_plan(other_organization, weight=1)
    in_flight_rows(organization, [at(60 - P)])
    # The heavy organization submitted 9 jobs in the last 15 minutes (one every 100 s) and will go on doing so.
    done = queue_rows(organization, 8, start=at(-850), step_s=100)
    Generation.objects.filter(pk__in=[g.pk for g in done]).update(status=Status.SUCCEEDED, completed_at=at(-1))
    light = queue_rows(other_organization, 2, start=at(-20))
    estimates = queue_estimates.simulate(now=timezone.now())
    assert estimates[str(light[0].pk)].estimated_start_at == at(60)
    # Without the forecast it would say +260 s; three heavy arrivals (at +100, +200, +300) go first by weight.
    assert estimates[str(light[1].pk)].estimated_start_at == at(60 + 4 * P)
    assert estimates[str(light[1].pk)].queue_position == 2  # forecast jobs take slots, not places in line
    settings.GENERATION_ETA_ARRIVALS_WINDOW_S = 0
    assert queue_estimates.simulate(now=timezone.now())[str(light[1].pk)].estimated_start_at == at(60 + P)


def test_estimates_match_what_the_dispatcher_then_does(organization, other_organization, clock, settings):
    """Caps, weights and two end users together: every start predicted to the second, in order."""
    settings.EACHLABS_MAX_IN_FLIGHT = 4
    set_plan(organization, weight=3, max_key_share=75)
    set_plan(other_organization, weight=1)
    in_flight_rows(organization, [at(-150), at(-120)])
    in_flight_rows(other_organization, [at(-60), at(-30)])
    queue_rows(organization, 6, user=end_user(organization, "big"), start=at(-400))
    queue_rows(organization, 2, user=end_user(organization, "small"), start=at(-20))
    queue_rows(other_organization, 5, start=at(-300))
    predicted = queue_estimates.simulate(now=timezone.now())
    actual: dict[str, datetime] = {}
    while Generation.objects.filter(status=Status.QUEUED).exists():
        running = Generation.objects.filter(status=Status.PROCESSING)
        next_end = min(g.submitted_at for g in running) + timedelta(seconds=P)
        clock.move_to(next_end)
        running.filter(submitted_at__lte=timezone.now() - timedelta(seconds=P)).update(
            status=Status.SUCCEEDED, provider_completed_at=timezone.now(), completed_at=timezone.now()
        )
        actual.update({str(g.pk): timezone.now() for g in claim_all()})
    actual_order = sorted(actual, key=lambda pk: (actual[pk], list(actual).index(pk)))
    predicted_order = sorted(predicted, key=lambda pk: predicted[pk].queue_position)
    assert predicted_order == actual_order
    assert {pk: predicted[pk].estimated_start_at for pk in predicted} == actual


def test_a_paused_key_starts_nothing_before_it_resumes_and_a_stopped_key_promises_nothing(organization, clock):
    queued = queue_rows(organization, 1, start=at(-10))[0]
    state = provider_key_state()
    state.paused_until = at(45)
    state.save()
    assert queue_estimates.simulate(now=timezone.now())[str(queued.pk)].estimated_start_at == at(45)
    state.stopped_at = at(-5)
    state.save()
    assert queue_estimates.simulate(now=timezone.now()) == {}


def test_past_the_work_cap_a_job_has_no_estimate(organization, clock, settings):
    settings.GENERATION_ETA_MAX_QUEUED = 2
    rows = queue_rows(organization, 3, start=at(-10))
    estimates = queue_estimates.simulate(now=timezone.now())
    assert str(rows[1].pk) in estimates and str(rows[2].pk) not in estimates


def test_estimates_are_cached_for_a_few_seconds(organization, clock, settings):
    settings.GENERATION_ETA_CACHE_S = 5
    first = queue_rows(organization, 1, start=at(-10))[0]
    assert queue_estimates.queue_estimates()[str(first.pk)].queue_position == 1
    second = queue_rows(organization, 1, start=at(-5))[0]
    assert str(second.pk) not in queue_estimates.queue_estimates()  # the cached answer, at most 5 s old


def test_api_returns_position_and_estimates_for_queued_and_finish_for_processing(organization, api_client, clock):
    in_flight_rows(organization, [at(10 * k - P) for k in range(1, 11)])
    queued = queue_rows(organization, 3, start=at(-30))
    body = api_client.get(f"/api/v1/generations/{queued[2].pk}/").json()
    assert body["queue_position"] == 3
    assert body["estimated_start_at"] == "2026-12-01T12:00:30Z"
    assert body["estimated_finish_at"] == "2026-12-01T12:03:50Z"
    running = Generation.objects.filter(status=Status.PROCESSING).order_by("submitted_at").first()
    body = api_client.get(f"/api/v1/generations/{running.pk}/").json()
    assert body["queue_position"] is None and body["estimated_start_at"] is None
    assert body["estimated_finish_at"] == "2026-12-01T12:00:10Z"
    listed = {item["id"]: item for item in api_client.get("/api/v1/generations/?status=queued").json()["results"]}
    assert listed[str(queued[0].pk)]["queue_position"] == 1


def test_api_fields_are_null_once_a_job_ends(organization, api_client, clock):
    done = queue_rows(organization, 1, start=at(-300))[0]
    Generation.objects.filter(pk=done.pk).update(status=Status.CANCELED, completed_at=at(-1))
    body = api_client.get(f"/api/v1/generations/{done.pk}/").json()
    assert (body["queue_position"], body["estimated_start_at"], body["estimated_finish_at"]) == (None, None, None)


def test_schema_documents_the_queue_fields(client):
    schema = client.get("/api/schema/").content.decode()
    for field in ("queue_position", "estimated_start_at", "estimated_finish_at"):
        assert field in schema


def test_detail_page_says_place_in_line_and_when_it_starts(organization, browser_client, clock):
    # The first three slots free at +100 s, +200 s, +240 s: the third job waits about 4 minutes.
    in_flight_rows(organization, [at(100 - P), at(200 - P), at(240 - P)] + [at(60)] * 7)
    queued = queue_rows(organization, 3, start=at(-30), user=end_user(organization, "someone"))
    url = reverse("generation_detail", args=[queued[2].pk])
    page = browser_client.get(url).content.decode()
    assert "3rd in line, starts in about 4 minutes." in page
    assert "Should be ready in about 7 minutes." in page
    fragment = browser_client.get(url, HTTP_HX_REQUEST="true").content.decode()  # the live refresh
    assert "3rd in line, starts in about 4 minutes." in fragment


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(20, "less than a minute"), (70, "about 1 minute"), (240, "about 4 minutes"), (7200, "about 2 hours")],
)
def test_waits_are_said_the_way_people_say_them(seconds, words):
    assert about(seconds) == words


def test_slots_are_held_for_the_time_jobs_really_took_once_there_are_five(organization, clock):
    """Submitted -> provider done (250 s here), not the provider's own predict_time (which leaves out its queue)."""
    done = queue_rows(organization, 5, start=at(-3000))
    for k, generation in enumerate(done):
        sent = at(-2500 + 300 * k)
        Generation.objects.filter(pk=generation.pk).update(
            status=Status.SUCCEEDED,
            submitted_at=sent,
            provider_completed_at=sent + timedelta(seconds=250),
            completed_at=sent + timedelta(seconds=251),
            predict_time=230.0,
        )
    in_flight_rows(organization, [at(-100)] * 10)
    queued = queue_rows(organization, 1, start=at(-10))[0]
    estimate = queue_estimates.simulate(now=timezone.now())[str(queued.pk)]
    assert (estimate.estimated_start_at, estimate.estimated_finish_at) == (at(150), at(400))
