"""Whatever ends a job other than success frees the money held for it, at once, and charges nothing."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from accounts import services as accounts_services
from billing import selectors as billing_selectors
from billing.models import AuthorizationState, SpendAuthorization, UsageRecord
from generations import services
from generations.catalog import validate_inputs
from generations.models import Generation, Status

# 480p x 5 s at list price.
HOLD = Decimal("0.7060")


def _create(organization) -> Generation:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), (200, 40, 40)).save(buffer, "PNG")
    image = SimpleUploadedFile("frame.png", buffer.getvalue(), content_type="image/png")
    inputs = validate_inputs(prompt="a red square drifts", duration="5", resolution="480p", image=image)
    end_user = accounts_services.end_user_for_partner(organization=organization, external_id="partner-user")
    generation = services.generation_create(organization=organization, end_user=end_user, inputs=inputs, image=image)
    assert _hold(generation).state == AuthorizationState.HELD
    assert billing_selectors.spend_summary(organization=organization).authorized == HOLD
    return generation


def _hold(generation) -> SpendAuthorization:
    return SpendAuthorization.objects.get(source_id=generation.pk)


def _provider_error(organization, simulator):
    simulator.config.failure_rate = 1.0
    generation = _create(organization)
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    return generation


def _rejected_at_submit(status_code):
    def end(organization, simulator):
        simulator.force_next(status_code=status_code, message="no")
        generation = _create(organization)
        services.dispatch_pending()
        return generation

    return end


def _provider_unavailable(organization, simulator, settings):
    settings.EACHLABS_MAX_SUBMIT_ATTEMPTS = 1
    simulator.force_next(status_code=503)
    generation = _create(organization)
    services.dispatch_pending()
    return generation


def _canceled(organization, simulator):
    generation = _create(organization)
    services.generation_cancel(generation=generation)
    return generation


def _timed_out(organization, simulator):
    generation = _create(organization)
    services.dispatch_pending()
    Generation.objects.filter(pk=generation.pk).update(deadline_at=timezone.now())
    assert services.fail_overdue() == 1
    return generation


def _submission_outcome_unknown(organization, simulator, settings):
    generation = _create(organization)
    services.generation_claim_next()  # the worker dies right after claiming
    settings.GENERATION_SUBMITTING_STUCK_S = 0
    assert services.recover_stuck_submissions() == 1
    return generation


def _lost_by_the_provider(organization, simulator):
    generation = _create(organization)
    services.dispatch_pending()
    simulator.force_next(status_code=404, method="GET", message="Prediction not found")
    services.generation_refresh(generation_id=generation.pk)
    return generation


def _output_expired(organization, simulator):
    simulator.config.webhooks_enabled = False
    simulator.config.output_retention_s = 10
    generation = _create(organization)
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 60)
    services.generation_refresh(generation_id=generation.pk)
    return generation


END_STATES = {
    "provider_error": (_provider_error, Status.FAILED),
    "provider_invalid_input": (_rejected_at_submit(400), Status.FAILED),
    "provider_not_found": (_rejected_at_submit(404), Status.FAILED),
    "provider_unavailable": (_provider_unavailable, Status.FAILED),
    "canceled": (_canceled, Status.CANCELED),
    "timeout": (_timed_out, Status.FAILED),
    "submission_outcome_unknown": (_submission_outcome_unknown, Status.FAILED),
    "provider_not_found_on_poll": (_lost_by_the_provider, Status.FAILED),
    "output_expired": (_output_expired, Status.FAILED),
}


@pytest.mark.parametrize("end_state", sorted(END_STATES))
def test_a_job_that_ends_without_a_video_releases_its_hold(organization, simulator, settings, end_state):
    end, status = END_STATES[end_state]
    arguments = {"settings": settings} if "settings" in end.__code__.co_varnames else {}
    generation = Generation.objects.get(pk=end(organization, simulator, **arguments).pk)
    assert generation.status == status and generation.completed_at is not None
    assert generation.next_poll_at is None  # nothing polls a finished job
    hold = _hold(generation)
    assert hold.state == AuthorizationState.RELEASED and hold.closed_at is not None
    assert hold.reason == ("canceled" if status == Status.CANCELED else generation.error_code)
    summary = billing_selectors.spend_summary(organization=organization)
    assert (summary.authorized, summary.spent) == (0, 0)
    assert summary.trial_credit_left == summary.trial_credit
    assert not UsageRecord.objects.filter(source_id=generation.pk).exists()


def test_a_succeeded_job_settles_its_hold_into_one_usage_record(organization, simulator):
    generation = _create(organization)
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    generation = Generation.objects.get(pk=generation.pk)
    assert generation.status == Status.SUCCEEDED and generation.completed_at is not None
    assert generation.next_poll_at is None and generation.predict_time is not None
    assert generation.provider_output_url.startswith("http") and generation.cost == HOLD
    assert _hold(generation).state == AuthorizationState.SETTLED
    summary = billing_selectors.spend_summary(organization=organization)
    assert (summary.authorized, summary.spent) == (0, HOLD)
    assert UsageRecord.objects.get(source_id=generation.pk).amount == HOLD
