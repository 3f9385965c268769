"""Erasing an end user erases their storyboards too: prompts, frames, films and posters; unstarted shots' holds go."""

from __future__ import annotations

from django.core.files.storage import default_storage

from billing.models import AuthorizationState, SpendAuthorization
from generations import privacy
from storyboards.models import Shot, ShotStatus, StoryboardStatus
from tests.storyboards.conftest import committing, make, reload, run, shot


def test_erasing_the_end_user_erases_their_storyboards_and_releases_unstarted_holds(organization, simulator):
    done = make(organization, [shot("secret one", "4"), shot("secret two", "4", chained=True)])
    run(simulator)
    done = reload(done)
    assert done.status == StoryboardStatus.SUCCEEDED
    stored = [done.film.name, done.poster.name, *[s.image.name for s in done.shots.all() if s.image]]
    assert all(default_storage.exists(name) for name in stored)
    pending = make(organization, [shot("secret three", "4"), shot("secret four", "4", chained=True)])
    waiting = pending.shots.get(position=2)
    assert waiting.status == ShotStatus.WAITING

    with committing():
        privacy.end_user_erase(end_user=done.end_user)

    assert not Shot.objects.filter(prompt__contains="secret").exists()
    assert not any(default_storage.exists(name) for name in stored)
    assert reload(done).film.name == "" and reload(done).status == StoryboardStatus.SUCCEEDED
    assert reload(pending).status == StoryboardStatus.FAILED and reload(pending).error_code == "end_user_erased"
    waiting.refresh_from_db()
    assert waiting.status == ShotStatus.STOPPED
    hold = SpendAuthorization.objects.get(source_id=waiting.planned_generation_id)
    assert hold.state == AuthorizationState.RELEASED
