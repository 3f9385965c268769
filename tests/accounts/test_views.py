"""Browser flows of accounts: sign-up, log-in, switching organizations."""

from html import escape

import pytest
from django.core import mail
from django.urls import reverse

from accounts import services
from accounts.models import Membership, Role, User
from accounts.tenancy import SESSION_KEY
from tests.factories import OrganizationFactory


def test_signup_creates_personal_organization_and_sends_verification(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "new@example.com", "password1": "a-Strong-pass-99", "password2": "a-Strong-pass-99"},
    )
    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.OWNER
    assert len(mail.outbox) == 1 and "new@example.com" in mail.outbox[0].to
    dashboard = client.get(reverse("dashboard"))
    assert escape(membership.organization.name) in dashboard.content.decode()


def test_signup_with_taken_email_shows_error_next_to_field(client, user):
    response = client.post(
        reverse("account_signup"),
        {"email": user.email, "password1": "a-Strong-pass-99", "password2": "a-Strong-pass-99"},
    )
    assert response.status_code == 200
    assert "email" in response.context["form"].errors


def test_login_with_email(client, user, organization):
    response = client.post(reverse("account_login"), {"login": user.email, "password": "pw-for-tests-1"})
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200


def test_dashboard_requires_login(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_switch_organization(browser_client, user, organization):
    other = OrganizationFactory()
    services.membership_add(organization=other, user=user)
    response = browser_client.post(reverse("organization_switch"), {"organization": other.pk, "next": "/app/"})
    assert response.status_code == 302
    assert browser_client.session[SESSION_KEY] == other.pk
    assert other.name in browser_client.get(reverse("dashboard")).content.decode()


def test_cannot_switch_to_foreign_organization(browser_client, organization, other_organization):
    browser_client.post(reverse("organization_switch"), {"organization": other_organization.pk})
    assert browser_client.session[SESSION_KEY] == organization.pk


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/"])
def test_switch_never_redirects_off_site(browser_client, organization, next_url):
    response = browser_client.post(reverse("organization_switch"), {"organization": organization.pk, "next": next_url})
    assert response["Location"] == reverse("dashboard")


def test_password_reset_sends_email(client, user):
    client.post(reverse("account_reset_password"), {"email": user.email})
    assert len(mail.outbox) == 1 and "password" in mail.outbox[0].subject.lower()


def test_unknown_page_answers_friendly_404(client, settings):
    settings.DEBUG = False
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "could not find" in response.content.decode()
