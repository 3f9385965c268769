"""Posters: made when a video is stored over the simulator, never failing it, and backfilled by a command."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image

from generations import posters, services
from generations.models import Generation, Status
from tests.generations.test_lifecycle import create, reload


@pytest.fixture(autouse=True)
def generous_trial(settings):
    settings.TRIAL_CREDIT_USD = Decimal(1000)


def succeed(organization, simulator, **extra) -> Generation:
    generation = create(organization, **extra)
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    generation = reload(generation)
    assert generation.status == Status.SUCCEEDED, generation.error_message
    return generation


def test_succeeded_generation_gets_a_webp_poster_from_its_video(organization, simulator):
    generation = succeed(organization, simulator)
    assert generation.poster.name.startswith(f"generations/posters/{organization.pk}/")
    assert generation.poster.name.endswith(".webp")
    with default_storage.open(generation.poster.name, "rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
        assert image.format == "WEBP"
        assert image.width > 0 and image.height > 0


def test_a_failed_poster_never_fails_the_generation(organization, simulator, settings):
    generation = succeed(organization, simulator)
    broken = io.BytesIO(b"not a video at all")
    assert posters.poster_store_quietly(video_file=broken, generation=generation) == ""  # must not raise
    assert broken.tell() == 0  # the caller stores the video from the same file next
    poster_folder = settings.MEDIA_ROOT / "generations" / "posters" / str(organization.pk)
    assert len(list(poster_folder.iterdir())) == 1  # only the successful generation's own poster


def test_backfill_command_fills_missing_posters_only(organization, simulator):
    first = succeed(organization, simulator)
    second = succeed(organization, simulator)
    kept = reload(second).poster.name
    Generation.objects.filter(pk=first.pk).update(poster="")
    out = io.StringIO()
    call_command("posters_backfill", stdout=out)
    assert "posters made: 1, failed: 0" in out.getvalue()
    assert reload(first).poster.name.endswith(".webp")
    assert reload(second).poster.name == kept
    out = io.StringIO()
    call_command("posters_backfill", stdout=out)
    assert "posters made: 0" in out.getvalue()


def test_failed_generation_gets_no_poster(organization, simulator):
    simulator.config.failure_rate = 1.0
    generation = create(organization)
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    generation = reload(generation)
    assert generation.status == Status.FAILED and not generation.poster
    assert list(posters.posters_missing()) == []


def test_the_success_webhook_already_carries_the_poster(
    organization, simulator, monkeypatch, django_capture_on_commit_callbacks
):
    from webhooks import services as webhooks_services

    published = []
    monkeypatch.setattr(
        webhooks_services, "event_publish", lambda *, organization, event_type, payload: published.append(payload)
    )
    with django_capture_on_commit_callbacks(execute=True):
        generation = succeed(organization, simulator)
    assert [payload["id"] for payload in published] == [str(generation.pk)]
    assert published[0]["poster_url"] and "/media/" in published[0]["poster_url"]
