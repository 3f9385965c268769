"""The whole generation lifecycle against the in-process simulator."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from accounts import services as accounts_services
from billing.models import UsageRecord
from generations import services
from generations.catalog import validate_inputs
from generations.eachlabs.client import PredictionInput, get_client
from generations.models import Generation, GenerationEvent, ProviderCall, ProviderKey, Status
from seedance_saas.errors import Conflict


@pytest.fixture(autouse=True)
def generous_trial(settings):
    """These tests are about the lifecycle, not about running out of trial credit."""
    settings.TRIAL_CREDIT_USD = Decimal(1000)


def png_upload(name="frame.png", size=(64, 36), color=(200, 40, 40)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def create(organization, *, external_id="partner-user", duration="5", resolution="480p", **extra) -> Generation:
    image = png_upload()
    inputs = validate_inputs(
        prompt="a red square drifts", duration=duration, resolution=resolution, image=image, **extra
    )
    end_user = accounts_services.end_user_for_partner(organization=organization, external_id=external_id)
    return services.generation_create(organization=organization, end_user=end_user, inputs=inputs, image=image)


def statuses(generation) -> list[str]:
    return list(GenerationEvent.objects.filter(generation=generation).values_list("to_status", flat=True))


def reload(generation) -> Generation:
    return Generation.objects.get(pk=generation.pk)


def make_poll_due() -> None:
    Generation.objects.filter(status=Status.PROCESSING).update(next_poll_at=timezone.now())


def test_webhook_path_reaches_succeeded_with_video_and_usage(organization, simulator):
    generation = create(organization)
    assert generation.status == Status.QUEUED and generation.estimated_cost > 0
    assert services.dispatch_pending() == 1
    generation = reload(generation)
    assert generation.status == Status.PROCESSING and generation.prediction_id
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    generation = reload(generation)
    assert generation.status == Status.SUCCEEDED, generation.error_message
    assert generation.webhooks_received == 1
    assert abs(float(generation.duration_seconds) - 5.0) < 0.1
    assert generation.video.name.endswith(".mp4") and generation.video.size > 1000
    record = UsageRecord.objects.get(source_id=generation.pk)
    assert record.seconds == 5 and generation.cost == record.amount
    assert statuses(generation) == ["queued", "submitting", "processing", "succeeded"]


def test_provider_sees_mapped_end_user_and_public_frame_url(organization, simulator):
    generation = create(organization, external_id="alice@example.com")
    services.dispatch_pending()
    job = simulator.job(reload(generation).prediction_id)
    assert job.input["end_user_id"] == reload(generation).end_user.upstream_id
    assert "alice" not in str(job.input)
    assert job.input["image_url"].startswith("http") and "/media/generations/" in job.input["image_url"]
    assert job.input["duration"] == "5" and job.input["generate_audio"] is True


def test_lost_webhook_is_covered_by_polling(organization, simulator):
    simulator.config.webhooks_enabled = False
    generation = create(organization)
    services.dispatch_pending()
    make_poll_due()
    services.poll_due()
    assert reload(generation).status == Status.PROCESSING  # not finished yet at the provider
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    assert reload(generation).status == Status.PROCESSING  # no webhook came
    make_poll_due()
    assert services.poll_due() == 1
    assert reload(generation).status == Status.SUCCEEDED


def test_duplicate_webhooks_finish_once(organization, simulator, client):
    generation = create(organization)
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    url = f"/hooks/eachlabs/{reload(generation).webhook_secret}/"
    for _ in range(3):
        assert (
            client.post(url, {"exec_id": "x", "status": "failed"}, content_type="application/json").status_code == 200
        )
    generation = reload(generation)
    assert generation.status == Status.SUCCEEDED  # the body's "failed" was not trusted
    assert generation.webhooks_received == 3
    assert UsageRecord.objects.filter(source_id=generation.pk).count() == 1
    assert statuses(generation).count("succeeded") == 1


def test_webhook_with_unknown_secret_answers_404(client, db):
    assert client.post("/hooks/eachlabs/nope/", {}, content_type="application/json").status_code == 404


def test_provider_failure_fails_without_charge(organization, simulator):
    simulator.config.failure_rate = 1.0
    generation = create(organization)
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    generation = reload(generation)
    assert generation.status == Status.FAILED and generation.error_code == "provider_error"
    assert generation.error_message and generation.cost is None
    assert not UsageRecord.objects.filter(source_id=generation.pk).exists()


def test_invalid_input_answer_fails_with_provider_message(organization, simulator):
    simulator.force_next(status_code=400, message="prompt violates policy", details="field: prompt")
    generation = create(organization)
    services.dispatch_pending()
    generation = reload(generation)
    assert generation.status == Status.FAILED and generation.error_code == "provider_invalid_input"
    assert "prompt violates policy" in generation.error_message


def test_not_found_answer_fails(organization, simulator):
    simulator.force_next(status_code=404, message="model not found")
    generation = create(organization)
    services.dispatch_pending()
    assert reload(generation).status == Status.FAILED


def test_rate_limit_requeues_and_pauses_the_dispatcher(organization, simulator):
    simulator.force_next(status_code=429, retry_after=30)
    first, second = create(organization), create(organization)
    assert services.dispatch_pending() == 1
    first = reload(first)
    assert first.status == Status.QUEUED and first.attempts == 0
    assert (first.not_before - timezone.now()).total_seconds() > 25
    assert services.dispatch_pending() == 0  # the whole key waits for Retry-After
    assert reload(second).status == Status.QUEUED
    assert services.provider_key_state().paused_until is not None


def test_server_errors_back_off_then_fail_after_bounded_attempts(organization, simulator, settings):
    settings.EACHLABS_MAX_SUBMIT_ATTEMPTS = 3
    generation = create(organization)
    for attempt in range(1, 4):
        simulator.force_next(status_code=503)
        Generation.objects.filter(pk=generation.pk).update(not_before=None)
        services.dispatch_pending()
        current = reload(generation)
        if attempt < 3:
            assert current.status == Status.QUEUED and current.attempts == attempt
            assert current.not_before > timezone.now()
    generation = reload(generation)
    assert generation.status == Status.FAILED and generation.error_code == "provider_unavailable"


def test_timeout_requeues(organization, simulator):
    simulator.force_next(hang=True)
    generation = create(organization)
    services.dispatch_pending()
    generation = reload(generation)
    assert generation.status == Status.QUEUED and generation.attempts == 1
    assert ProviderCall.objects.filter(generation=generation, error_code="provider_timeout").exists()


def test_auth_failure_stops_dispatch_and_keeps_jobs(organization, simulator):
    simulator.force_next(status_code=401)
    first, second = create(organization), create(organization)
    services.dispatch_pending()
    assert {reload(first).status, reload(second).status} == {Status.QUEUED}
    assert services.provider_key_state().stopped_at is not None
    assert services.dispatch_pending() == 0
    services.provider_resume()
    services.dispatch_pending()
    assert {reload(first).status, reload(second).status} == {Status.PROCESSING}


def test_deadline_fails_as_timeout_without_charge(organization, simulator):
    generation = create(organization)
    services.dispatch_pending()
    Generation.objects.filter(pk=generation.pk).update(deadline_at=timezone.now())
    assert services.fail_overdue() == 1
    generation = reload(generation)
    assert generation.status == Status.FAILED and generation.error_code == "timeout"
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()  # the late result changes nothing
    assert reload(generation).status == Status.FAILED
    assert not UsageRecord.objects.filter(source_id=generation.pk).exists()


def test_cancel_queued_and_refuse_cancel_in_flight(organization, simulator):
    queued = create(organization)
    services.generation_cancel(generation=queued)
    assert reload(queued).status == Status.CANCELED
    in_flight = create(organization)
    services.dispatch_pending()
    with pytest.raises(Conflict, match="cannot stop"):
        services.generation_cancel(generation=reload(in_flight))
    with pytest.raises(Conflict):
        services.generation_cancel(generation=reload(queued))


def test_retry_creates_a_linked_generation(organization, simulator):
    simulator.config.failure_rate = 1.0
    failed = create(organization)
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    simulator.config.failure_rate = 0.0
    retried = services.generation_retry(generation=reload(failed))
    assert retried.pk != failed.pk and retried.retry_of_id == failed.pk and retried.status == Status.QUEUED
    assert retried.image.name != reload(failed).image.name and retried.image.size == reload(failed).image.size
    with pytest.raises(Conflict):
        services.generation_retry(generation=retried)


def test_crash_between_claim_and_create_is_failed_not_resubmitted(organization, simulator, settings):
    generation = create(organization)
    claimed = services.generation_claim_next()  # the worker dies right after claiming
    assert claimed.pk == generation.pk and reload(generation).status == Status.SUBMITTING
    settings.GENERATION_SUBMITTING_STUCK_S = 0
    assert services.recover_stuck_submissions() == 1
    generation = reload(generation)
    assert generation.status == Status.FAILED and generation.error_code == "submission_outcome_unknown"
    services.dispatch_pending()
    assert simulator.stats["creates"] == 0


def test_crash_between_create_and_save_is_failed_not_resubmitted(organization, simulator, settings):
    generation = create(organization)
    claimed = services.generation_claim_next()
    get_client().create_prediction(PredictionInput(prompt="x", image_url="https://example.com/a.png"))
    # ...the worker dies before saving the prediction id.
    settings.GENERATION_SUBMITTING_STUCK_S = 0
    services.recover_stuck_submissions()
    services.dispatch_pending()
    assert reload(claimed).status == Status.FAILED
    assert simulator.stats["creates"] == 1
    assert not UsageRecord.objects.filter(source_id=generation.pk).exists()


def test_storage_failure_after_download_is_retried_by_the_next_poll(organization, simulator, monkeypatch):
    generation = create(organization)
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)

    def disk_full(*args, **kwargs):
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(FileSystemStorage, "_save", disk_full)
        with pytest.raises(OSError):
            services.generation_refresh(generation_id=generation.pk)
    assert reload(generation).status == Status.PROCESSING
    make_poll_due()
    services.poll_due()
    assert reload(generation).status == Status.SUCCEEDED
    assert UsageRecord.objects.filter(source_id=generation.pk).count() == 1


def test_expired_output_fails_without_charge(organization, simulator):
    simulator.config.webhooks_enabled = False
    simulator.config.output_retention_s = 10
    generation = create(organization)
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 60)
    make_poll_due()
    services.poll_due()
    generation = reload(generation)
    assert generation.status == Status.FAILED and generation.error_code == "output_expired"
    assert not UsageRecord.objects.filter(source_id=generation.pk).exists()


def test_limits_are_never_exceeded(organization, simulator, settings):
    key = services.provider_key_default_ensure()
    ProviderKey.objects.filter(pk=key.pk).update(max_creates_per_minute=4)
    for _ in range(6):
        create(organization)
    assert services.dispatch_pending() == 4
    assert Generation.objects.filter(status=Status.PROCESSING).count() == 4
    ProviderKey.objects.filter(pk=key.pk).update(max_creates_per_minute=100)
    for _ in range(10):
        create(organization)
    services.dispatch_pending()
    assert Generation.objects.filter(status=Status.PROCESSING).count() == 10
    assert simulator.stats["rate_limited"] == 0


def test_dispatch_is_fair_across_organizations(organization, other_organization, simulator):
    for _ in range(12):
        create(organization)
    small = create(other_organization)
    services.dispatch_pending(max_submissions=2)
    assert reload(small).status == Status.PROCESSING


def test_finished_generation_frees_its_slot(organization, simulator, django_capture_on_commit_callbacks):
    for _ in range(11):
        create(organization)
    services.dispatch_pending()
    assert Generation.objects.filter(status=Status.QUEUED).count() == 1
    simulator.advance(simulator.config.latency_s + 1)
    with django_capture_on_commit_callbacks(execute=True):
        simulator.deliver_webhooks()
    assert Generation.objects.filter(status=Status.QUEUED).count() == 0
