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


def subscribe(organization, fake, *, capture) -> dict:
    """The organization subscribes through Checkout: our session, the customer pays in the fake, and the
    signed `checkout.session.completed` webhook reaches /hooks/stripe/. Returns the fake's subscription."""
    from django.test import Client

    from billing.stripe import checkout

    url = checkout.checkout_session_create(
        organization=organization, success_url="https://x.test/ok", cancel_url="https://x.test/no"
    )
    session, subscription = fake.checkout_complete(url.rsplit("/", 1)[1])
    payload, signature, _ = fake.signed_event("checkout.session.completed", session, WEBHOOK_SECRET)
    with capture(execute=True):
        response = Client().post(
            "/hooks/stripe/", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
        )
    assert response.status_code == 200, response.content
    return fake.subscriptions[subscription["id"]]


@pytest.fixture
def subscribed_org(synced_stripe, django_capture_on_commit_callbacks):
    """An organization with a Stripe customer and a live subscription on the default plan."""
    from tests.factories import OrganizationFactory

    with django_capture_on_commit_callbacks(execute=True):
        organization = OrganizationFactory()
    subscribe(organization, synced_stripe, capture=django_capture_on_commit_callbacks)
    return organization
