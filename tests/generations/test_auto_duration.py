"""`auto` jobs bill the measured length of the real file, to the second within 0.1 s (5.042 s bills 5 s)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.models import UsageRecord
from generations import services
from generations.models import Status
from tests.generations.test_lifecycle import create, reload


@pytest.fixture(autouse=True)
def generous_trial(settings):
    settings.TRIAL_CREDIT_USD = Decimal(1000)


def run_to_the_end(simulator, generation):
    services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    return reload(generation)


@pytest.mark.parametrize(("rendered_s", "billed_s"), [(5.042, 5), (7.96, 8), (6.3, 7)])
def test_an_auto_video_bills_its_measured_length_end_to_end(organization, simulator, rendered_s, billed_s):
    simulator.config.auto_duration_s = rendered_s
    generation = run_to_the_end(simulator, create(organization, duration="auto", resolution="720p"))
    assert generation.status == Status.SUCCEEDED
    assert generation.duration_seconds == Decimal(str(rendered_s))  # measured from the stored MP4
    record = UsageRecord.objects.get(source_id=generation.pk)
    assert record.seconds == billed_s
    assert record.amount == generation.cost == Decimal("0.3024") * billed_s
    assert record.provider_cost == Decimal("0.3024") * billed_s
