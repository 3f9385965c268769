"""Cancel in detail: the event and time it records, what runs after commit, what it refuses (from mutation testing)."""

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from generations import services
from generations.catalog import validate_inputs
from generations.models import Generation, GenerationEvent, Status
from seedance_saas.errors import Conflict
from tests.generations.test_holds_released import _create
from tests.images import image_bytes
from webhooks import services as webhooks_services


@pytest.fixture
def published(monkeypatch):
    """The partner events the lifecycle publishes (webhooks is the boundary), as (type, generation id)."""
    events = []
    monkeypatch.setattr(
        webhooks_services,
        "event_publish",
        lambda *, organization, event_type, payload: events.append((event_type, payload["id"])),
    )
    return events


def test_cancel_records_who_and_when_and_tells_the_partner_after_commit(
    organization, simulator, published, django_capture_on_commit_callbacks
):
    generation = _create(organization)
    frame = SimpleUploadedFile("next.png", image_bytes(), content_type="image/png")
    inputs = validate_inputs(prompt="next in line", duration="5", resolution="480p", image=frame)
    waiting = services.generation_create(
        organization=organization, end_user=generation.end_user, inputs=inputs, image=frame
    )
    cache.delete(services.DISPATCH_WAKE_CACHE_KEY)
    with django_capture_on_commit_callbacks(execute=True):
        services.generation_cancel(generation=generation)
    generation = Generation.objects.get(pk=generation.pk)
    assert generation.status == Status.CANCELED and generation.completed_at is not None
    event = GenerationEvent.objects.filter(generation=generation).latest("pk")
    assert (event.from_status, event.to_status, event.reason) == ("queued", "canceled", "canceled by the user")
    assert published == [("generation.canceled", str(generation.pk))]
    # The freed place goes to the next job: the dispatcher was woken (tasks run synchronously in tests).
    assert Generation.objects.get(pk=waiting.pk).status == Status.PROCESSING


def test_a_failing_partner_notification_does_not_undo_the_cancel(
    organization, simulator, monkeypatch, django_capture_on_commit_callbacks
):
    def partner_down(**kwargs):
        raise RuntimeError("webhooks are down")

    monkeypatch.setattr(webhooks_services, "event_publish", partner_down)
    generation = _create(organization)
    with django_capture_on_commit_callbacks(execute=True):
        services.generation_cancel(generation=generation)
    assert Generation.objects.get(pk=generation.pk).status == Status.CANCELED


def test_a_failing_partner_notification_does_not_undo_a_failure(
    organization, simulator, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(webhooks_services, "event_publish", lambda **kwargs: 1 / 0)
    simulator.force_next(status_code=400, message="no")
    generation = _create(organization)
    with django_capture_on_commit_callbacks(execute=True):
        services.dispatch_pending()
    assert Generation.objects.get(pk=generation.pk).status == Status.FAILED


def test_a_job_at_the_provider_cannot_be_canceled(organization, simulator):
    generation = _create(organization)
    services.dispatch_pending()
    with pytest.raises(Conflict) as info:
        services.generation_cancel(generation=Generation.objects.get(pk=generation.pk))
    assert info.value.code == "not_cancelable"
    assert info.value.message == (
        "This generation is already at the provider, which cannot stop a job once it has started. "
        "It will finish or fail on its own."
    )


def test_a_finished_job_cannot_be_canceled(organization, simulator):
    generation = _create(organization)
    services.generation_cancel(generation=generation)
    with pytest.raises(Conflict) as info:
        services.generation_cancel(generation=Generation.objects.get(pk=generation.pk))
    assert (info.value.code, info.value.message) == ("not_cancelable", "This generation is already canceled.")


def test_a_failure_tells_the_partner_after_commit(
    organization, simulator, published, django_capture_on_commit_callbacks
):
    simulator.force_next(status_code=400, message="no")
    generation = _create(organization)
    with django_capture_on_commit_callbacks(execute=True):
        services.dispatch_pending()
    assert published == [("generation.failed", str(generation.pk))]
