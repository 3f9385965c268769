"""A billing account's birth and standing: its trial by default, Stripe asked for a customer only when Stripe is
there, a paused subscription's refusal (from surviving mutants)."""

import uuid

import pytest

from accounts.models import Organization
from billing import services
from billing.models import BillingAccount, Standing, TrialStatus
from billing.services import StandingRefused


def _bare_organization() -> Organization:
    """An organization from before billing existed: no account yet."""
    organization = Organization.objects.create(name="Old Co", slug="old-co")
    BillingAccount.objects.filter(organization=organization).delete()
    return organization


def test_an_account_made_without_saying_otherwise_has_its_trial_at_once():
    account = services.billing_account_create(organization=_bare_organization())
    assert (account.standing, account.trial_status) == (Standing.TRIAL, TrialStatus.GRANTED)


def test_without_stripe_no_customer_is_asked_for(settings, django_capture_on_commit_callbacks):
    settings.STRIPE_API_KEY = ""
    organization = _bare_organization()
    with django_capture_on_commit_callbacks() as callbacks:
        services.billing_account_create(organization=organization)
    assert callbacks == []


def test_with_stripe_a_customer_is_asked_for_once(settings, django_capture_on_commit_callbacks):
    settings.STRIPE_API_KEY = "sk_test_fake"
    organization = _bare_organization()
    with django_capture_on_commit_callbacks() as callbacks:
        services.billing_account_create(organization=organization)
    assert len(callbacks) == 1
    BillingAccount.objects.filter(organization=organization).update(stripe_customer_id="cus_1")
    with django_capture_on_commit_callbacks() as callbacks:
        services.billing_account_create(organization=organization)
    assert callbacks == []


def test_a_paused_subscription_refuses_a_job_saying_how_to_resume(organization):
    BillingAccount.objects.filter(organization=organization).update(
        standing=Standing.PAST_DUE, subscription_status="paused"
    )
    with pytest.raises(StandingRefused) as refused:
        services.spend_authorize(
            organization=organization, end_user=None, source_id=uuid.uuid4(), resolution="720p", duration=4
        )
    assert refused.value.message == (
        "The subscription is paused (no payment method). Add one in the billing portal to resume it and continue."
    )
