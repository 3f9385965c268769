"""The trial credit unlocks when a sign-up verifies its email address, once per mailbox, ever."""

import queue
import re
import uuid
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import Membership, Organization, Role
from billing import services, trial_services
from billing.models import BillingAccount, TrialClaim, TrialStatus
from tests.api.conftest import assert_error
from tests.concurrency import run_at_once
from tests.generations.conftest import _eachlabs_isolated, simulator  # noqa: F401 -- the provider simulator
from tests.generations.test_lifecycle import png_upload

PASSWORD = "a-Strong-pass-99"
API_BODY = {
    "prompt": "a red square drifts to the right",
    "image_url": "https://partner.example/frames/first.png",
    "resolution": "480p",
    "duration": "5",
}
FORM = {"prompt": "waves roll in", "resolution": "480p", "duration": "5", "aspect_ratio": "16:9"}


def sign_up(client, email: str) -> Organization:
    response = client.post(reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302, response.content
    return Membership.objects.get(user__email=email, role=Role.OWNER).organization


def confirmation_link(email: str) -> str:
    message = [sent for sent in mail.outbox if email in sent.to][-1]
    return re.search(r"(/accounts/confirm-email/[^\s/]+/)", message.body).group(1)


def verify(client, email: str) -> None:
    assert client.post(confirmation_link(email)).status_code == 302


def api_client_for(organization) -> APIClient:
    _, secret = account_services.api_key_create(organization=organization, name="key")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def authorize(organization):
    return services.spend_authorize(
        organization=organization, end_user=None, source_id=uuid.uuid4(), resolution="480p", duration=5
    )


@pytest.mark.usefixtures("simulator")
def test_an_unverified_sign_up_cannot_spend_the_trial_in_the_api(client):
    organization = sign_up(client, "new@example.com")
    api = api_client_for(organization)
    error = assert_error(api.post("/api/v1/generations/", API_BODY, format="json"), 402, "trial_locked")
    assert error["message"] == (
        "Verify your email to unlock your $5 trial: open the link we sent you (or send a new one from your email "
        "settings). Or subscribe on the billing page."
    )

    verify(client, "new@example.com")
    assert api.post("/api/v1/generations/", API_BODY, format="json").status_code == 201
    assert BillingAccount.objects.get(organization=organization).trial_status == TrialStatus.GRANTED


@pytest.mark.usefixtures("simulator")
def test_an_unverified_sign_up_is_told_in_the_browser(client):
    sign_up(client, "new@example.com")
    response = client.post(reverse("generation_create"), {**FORM, "image": png_upload()})
    assert response.status_code == 402
    assert "Verify your email to unlock your $5 trial" in " ".join(response.context["form"].non_field_errors())
    billing_page = client.get(reverse("billing")).content.decode()
    assert 'data-testid="trial-locked"' in billing_page and "$5 trial" in billing_page

    verify(client, "new@example.com")
    response = client.post(reverse("generation_create"), {**FORM, "image": png_upload()})
    assert response.status_code == 302


@pytest.mark.usefixtures("simulator")
def test_a_mailbox_gets_one_trial_whatever_its_spelling(client):
    first = sign_up(client, "jo.doe@gmail.com")
    verify(client, "jo.doe@gmail.com")
    client.logout()
    second = sign_up(client, "jodoe+again@gmail.com")
    verify(client, "jodoe+again@gmail.com")

    authorize(first)
    api = api_client_for(second)
    error = assert_error(api.post("/api/v1/generations/", API_BODY, format="json"), 402, "trial_already_used")
    assert error["message"] == (
        "This email address has already had its free trial. Subscribe on the billing page to keep generating."
    )
    assert list(TrialClaim.objects.values_list("email", "organization")) == [("jodoe@gmail.com", first.pk)]


def test_verifying_again_changes_nothing(client):
    organization = sign_up(client, "twice@example.com")
    verify(client, "twice@example.com")
    owner = Membership.objects.get(organization=organization).user
    assert trial_services.trial_unlock(user=owner, email="twice@example.com") is None
    assert TrialClaim.objects.filter(organization=organization).count() == 1


def test_operator_made_tenants_and_the_demo_keep_the_trial(organization):
    authorize(organization)  # made by create_tenant / the admin / the factories: no verification needed
    call_command("seed_demo", stdout=None)
    demo = Organization.objects.get(name="Demo Studio")
    assert authorize(demo).covered_by_trial


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_verifications_of_one_mailbox_grant_one_trial(settings):
    settings.TRIAL_CREDIT_USD = Decimal(5)
    emails = ["race.car@gmail.com", "racecar+two@gmail.com"]
    organizations = [sign_up(Client(), email) for email in emails]
    links: queue.Queue = queue.Queue()
    for email in emails:
        links.put(confirmation_link(email))

    results = run_at_once(lambda: Client().post(links.get_nowait()).status_code, threads=2)

    assert results == [302, 302]
    accounts = BillingAccount.objects.filter(organization__in=organizations)
    statuses = sorted(accounts.values_list("trial_status", flat=True))
    assert statuses == [TrialStatus.ALREADY_USED, TrialStatus.GRANTED]
    assert TrialClaim.objects.filter(email="racecar@gmail.com").count() == 1
