"""Billing fixtures: a fake Stripe on a local port, wired into settings, and a synced catalog."""

import logging

import pytest
from django.core.management import call_command

from tests.fakes.stripe_server import FakeStripeServer

WEBHOOK_SECRET = "whsec_test_secret"


@pytest.fixture
def stripe_server(settings):
    """A fresh fake Stripe; the real SDK talks to it through STRIPE_API_BASE."""
    logging.getLogger("stripe").setLevel(logging.WARNING)  # the SDK logs every request at INFO
    with FakeStripeServer() as fake:
        settings.STRIPE_API_KEY = "sk_test_fake"
        settings.STRIPE_API_BASE = fake.base_url
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        settings.STRIPE_TIMEOUT_S = 1.0  # roomy enough for a loaded CI machine
        settings.STRIPE_RETRY_BASE_S = 0.01
        fake.hang_s = 1.5  # past the timeout
        yield fake


@pytest.fixture
def synced_stripe(stripe_server, capsys):
    call_command("stripe_sync")
    capsys.readouterr()
    return stripe_server
