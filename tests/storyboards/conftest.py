"""Fixtures of the storyboard tests: the provider simulator, fake Stripe, and a driver that runs the shots."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import TestCase

from accounts import services as accounts_services
from generations import services as generations
from generations.models import Generation, Status
from generations.services import DISPATCH_WAKE_CACHE_KEY
from storyboards import services
from storyboards.models import Storyboard
from tests.billing.conftest import stripe_server, subscribed_org, synced_stripe  # noqa: F401
from tests.generations.conftest import _eachlabs_isolated, simulator  # noqa: F401
from tests.generations.test_lifecycle import png_upload


@pytest.fixture(autouse=True)
def generous_trial(settings):
    settings.TRIAL_CREDIT_USD = Decimal(1000)


@pytest.fixture(autouse=True)
def dispatch_only_when_the_test_says(_isolated):
    """Generations are sent to the provider only by the driver's dispatch_pending(), never by a wake-up enqueued
    when a chained shot is created: a failure injected for "the next create" then hits the shot the test means,
    however slow the machine (a wake-up is skipped within a second of the last one, so timing would decide)."""
    cache.set(DISPATCH_WAKE_CACHE_KEY, True, timeout=3600)


def shot(prompt="a shot", duration="4", *, chained=False, color=(200, 40, 40)) -> services.ShotInput:
    if chained:
        return services.ShotInput(prompt=prompt, duration=duration, continue_previous=True)
    return services.ShotInput(prompt=prompt, duration=duration, image=png_upload(color=color))


def make(organization, shots, **extra) -> Storyboard:
    end_user = accounts_services.end_user_default(organization=organization)
    with committing():
        return services.storyboard_create(
            organization=organization, end_user=end_user, shots=shots, resolution="480p", aspect_ratio="16:9", **extra
        )


def committing():
    """Run the on-commit callbacks (the test's transaction never commits): the generation_ended signal and the
    storyboard advance it enqueues fire as in production."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def run(sim, *, rounds: int = 12) -> None:
    """Dispatch, let the provider finish, deliver its webhooks; again, until nothing moves."""
    for _ in range(rounds):
        with committing():
            generations.dispatch_pending()
        if not Generation.objects.filter(status__in=(Status.QUEUED, Status.SUBMITTING, Status.PROCESSING)).exists():
            break
        sim.advance(sim.config.latency_s + 1)
        with committing():
            sim.deliver_webhooks()


def reload(storyboard) -> Storyboard:
    return Storyboard.objects.get(pk=storyboard.pk)
