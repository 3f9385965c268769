"""Storyboards over the simulator: authorization as a whole, chained shots, a failed middle shot, retry, stitching."""

from __future__ import annotations

import io
from decimal import Decimal

import av
import pytest

from billing import services as billing
from billing.models import AuthorizationState, SpendAuthorization, UsageRecord
from generations.models import Generation
from seedance_saas.errors import Conflict, InvalidInput
from storyboards import services
from storyboards.models import ShotStatus, StoryboardStatus
from tests.storyboards.conftest import committing, make, reload, run, shot


def film_seconds(storyboard) -> float:
    with storyboard.film.open("rb") as film, av.open(film) as container:
        stream = container.streams.video[0]
        return float(stream.duration * stream.time_base)


def test_parallel_and_chained_shots_are_stitched_into_one_film_as_long_as_the_shots(organization, simulator):
    storyboard = make(
        organization,
        [shot("one", "4"), shot("two", "5", chained=True), shot("three", "4", color=(30, 200, 40))],
        generate_audio=True,
    )
    run(simulator)
    storyboard = reload(storyboard)
    assert storyboard.status == StoryboardStatus.SUCCEEDED, (storyboard.error_message, list(storyboard.shots.values()))
    shots = list(storyboard.shots.order_by("position"))
    assert [s.status for s in shots] == [ShotStatus.SUCCEEDED] * 3
    assert shots[1].generation.continues_id == shots[0].generation_id
    total = sum(float(s.generation.duration_seconds) for s in shots)
    assert abs(film_seconds(storyboard) - total) <= 0.1
    assert abs(float(storyboard.duration_seconds) - total) <= 0.1
    with storyboard.poster.open("rb") as poster:
        assert poster.read(3) == b"\xff\xd8\xff"  # a JPEG
    with storyboard.film.open("rb") as film, av.open(film) as container:
        assert container.streams.audio, "the film has one continuous audio track"


def test_clips_without_audio_get_silence_and_the_film_keeps_its_length(organization, simulator):
    storyboard = make(organization, [shot("one", "4"), shot("two", "6", chained=True)], generate_audio=False)
    run(simulator)
    storyboard = reload(storyboard)
    assert storyboard.status == StoryboardStatus.SUCCEEDED, storyboard.error_message
    with storyboard.film.open("rb") as film, av.open(film) as container:
        assert container.streams.audio
        audio = container.streams.audio[0]
        assert abs(float(audio.duration * audio.time_base) - 10.0) <= 0.1
    assert abs(film_seconds(storyboard) - 10.0) <= 0.1


def test_the_whole_storyboard_is_authorized_at_once_and_refused_as_a_whole(organization, simulator):
    billing.billing_account_set_limit(organization=organization, monthly_spend_limit=None)
    quote = services.storyboard_quote(organization=organization, resolution="480p", durations=["4", "4", "4"])
    storyboard = make(organization, [shot(), shot(chained=True), shot(chained=True)])
    held = SpendAuthorization.objects.filter(state=AuthorizationState.HELD)
    assert held.count() == 3 and sum(a.amount for a in held) == quote.max_amount == storyboard.estimated_cost
    # A limit that leaves room for two shots more but not three: the next storyboard is refused whole.
    committed = sum(a.amount for a in held)
    billing.billing_account_set_limit(
        organization=organization, monthly_spend_limit=committed + quote.max_amount * 2 / 3
    )
    with pytest.raises(billing.SpendLimitReached):
        make(organization, [shot(), shot(chained=True), shot(chained=True)])
    assert SpendAuthorization.objects.count() == 3


def test_a_failed_middle_shot_stops_its_dependents_and_retry_resumes_with_the_right_charge(
    subscribed_org, synced_stripe, simulator
):
    organization = subscribed_org
    storyboard = make(
        organization, [shot("one", "4"), shot("two", "5", chained=True), shot("three", "6", chained=True)]
    )
    run(simulator, rounds=1)  # shot 1 succeeds; shot 2 is created from its last frame
    simulator.force_next(status_code=400, message="The prompt was refused.", method="POST")
    run(simulator)
    storyboard = reload(storyboard)
    one, two, three = storyboard.shots.order_by("position")
    assert (one.status, two.status, three.status) == (ShotStatus.SUCCEEDED, ShotStatus.FAILED, ShotStatus.STOPPED)
    assert storyboard.status == StoryboardStatus.FAILED and "Shot 2" in storyboard.error_message
    assert "refused" in two.error_message
    # Only shot 1 is charged; the holds of shots 2 and 3 are released.
    assert list(UsageRecord.objects.values_list("source_id", "seconds")) == [(one.generation_id, 4)]
    assert SpendAuthorization.objects.get(source_id=two.planned_generation_id).state == AuthorizationState.RELEASED
    assert SpendAuthorization.objects.get(source_id=three.planned_generation_id).state == AuthorizationState.RELEASED
    assert synced_stripe.meter_event_total("seedance_seconds_480p") == 4
    with pytest.raises(Conflict):
        services.storyboard_shot_retry(storyboard=storyboard, position=3)

    with committing():
        services.storyboard_shot_retry(storyboard=storyboard, position=2)
    run(simulator)
    storyboard = reload(storyboard)
    assert storyboard.status == StoryboardStatus.SUCCEEDED, storyboard.error_message
    one, two, three = storyboard.shots.order_by("position")
    assert two.attempts == 1 and three.attempts == 1
    records = dict(UsageRecord.objects.values_list("source_id", "seconds"))
    assert records == {one.generation_id: 4, two.generation_id: 5, three.generation_id: 6}
    assert Generation.objects.filter(status="failed").count() == 1  # the first try of shot 2: not charged
    assert synced_stripe.meter_event_total("seedance_seconds_480p") == 15
    assert not SpendAuthorization.objects.filter(state=AuthorizationState.HELD).exists()
    assert abs(film_seconds(storyboard) - 15.0) <= 0.1


def test_a_storyboard_needs_two_to_eight_shots_and_a_first_frame_first(organization, simulator):
    with pytest.raises(InvalidInput) as one_shot:
        make(organization, [shot()])
    assert "shots" in one_shot.value.fields
    with pytest.raises(InvalidInput) as nine:
        make(organization, [shot()] * 9)
    assert "shots" in nine.value.fields
    with pytest.raises(InvalidInput) as chained_first:
        make(organization, [shot(chained=True), shot()])
    assert "shots[1].continue_previous" in chained_first.value.fields
    assert not SpendAuthorization.objects.exists()


def test_the_hold_sweeper_keeps_the_holds_of_shots_not_started_yet(organization, simulator):
    from datetime import timedelta

    from django.utils import timezone

    from generations import holds

    storyboard = make(organization, [shot(), shot(chained=True)])
    SpendAuthorization.objects.update(created_at=timezone.now() - timedelta(hours=1))
    holds.holds_sweep()
    waiting = storyboard.shots.get(position=2)
    assert SpendAuthorization.objects.get(source_id=waiting.planned_generation_id).state == AuthorizationState.HELD
    assert Decimal(0) < storyboard.estimated_cost


def test_the_minute_schedule_advances_a_storyboard_whose_signal_was_lost(organization, simulator):
    from accounts import services as accounts_services

    end_user = accounts_services.end_user_default(organization=organization)
    # Created without running its on-commit callbacks: the advance it enqueues is lost, as with a killed worker.
    storyboard = services.storyboard_create(
        organization=organization, end_user=end_user, shots=[shot(), shot(chained=True)], resolution="480p"
    )
    assert list(storyboard.shots.values_list("status", flat=True)) == ["waiting", "waiting"]
    assert services.storyboards_advance_due() == 1
    assert list(storyboard.shots.values_list("status", flat=True)) == ["running", "waiting"]
    assert Generation.objects.get().pk == storyboard.shots.get(position=1).planned_generation_id


def test_a_start_interrupted_by_storage_trouble_gives_the_shot_back_to_the_next_advance(organization, simulator):
    from django.core.files.storage import default_storage

    from accounts import services as accounts_services

    end_user = accounts_services.end_user_default(organization=organization)
    storyboard = services.storyboard_create(
        organization=organization, end_user=end_user, shots=[shot(), shot(chained=True)], resolution="480p"
    )
    first = storyboard.shots.get(position=1)
    stored = default_storage.open(first.image.name, "rb").read()
    default_storage.delete(first.image.name)  # the storage cannot give the frame back for now
    services.storyboards_advance_due()
    assert storyboard.shots.get(position=1).status == ShotStatus.WAITING and not Generation.objects.exists()
    default_storage.save(first.image.name, io.BytesIO(stored))
    services.storyboards_advance_due()
    assert storyboard.shots.get(position=1).status == ShotStatus.RUNNING and Generation.objects.count() == 1
