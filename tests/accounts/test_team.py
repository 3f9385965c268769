"""Team page: members read, owners and admins manage; invitations by email; another tenant's rows answer 404."""

import re
from html import escape

import pytest
from django.core import mail
from django.urls import reverse

from accounts import services
from accounts.models import Invitation, Membership, Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory


@pytest.fixture
def member_client(client, organization):
    member = MembershipFactory(organization=organization, role=Role.MEMBER)
    client.force_login(member.user)
    client.member = member
    return client


@pytest.fixture
def admin_client(client, organization):
    admin = MembershipFactory(organization=organization, role=Role.ADMIN)
    client.force_login(admin.user)
    client.member = admin
    return client


def _owner(organization):
    return Membership.objects.get(organization=organization, role=Role.OWNER)


def _token_from(message) -> str:
    return re.search(r"/invitations/([^/\s]+)/", message.body).group(1)


def test_team_lists_members_with_roles(browser_client, user, organization):
    other = MembershipFactory(organization=organization, role=Role.ADMIN)
    page = browser_client.get(reverse("team")).content.decode()
    assert user.email in page and other.user.email in page
    assert "Send invitation" in page


def test_team_shows_only_the_active_organization(browser_client, organization, other_organization):
    stranger = _owner(other_organization).user
    assert stranger.email not in browser_client.get(reverse("team")).content.decode()


def test_member_reads_team_but_cannot_manage(member_client, organization):
    response = member_client.get(reverse("team"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Only owners and admins can invite" in page and "Send invitation" not in page


def test_member_gets_403_with_reason_on_invite(member_client, organization):
    response = member_client.post(reverse("team_invite"), {"email": "x@example.com", "role": "member"})
    assert response.status_code == 403
    assert "Only owners and admins" in response.content.decode()
    assert not Invitation.objects.exists() and not mail.outbox


def test_team_requires_login(client):
    response = client.get(reverse("team"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_invite_sends_email_with_token_and_stores_only_its_hash(browser_client, organization):
    response = browser_client.post(reverse("team_invite"), {"email": "New@Example.com", "role": "admin"})
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role, invitation.organization) == ("new@example.com", "admin", organization)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new@example.com"]
    token = _token_from(mail.outbox[0])
    assert len(token) >= 40 and token not in invitation.token_hash
    assert "new@example.com" in browser_client.get(reverse("team")).content.decode()


def test_invite_with_bad_email_shows_error_next_to_field(browser_client):
    response = browser_client.post(reverse("team_invite"), {"email": "not-an-email", "role": "member"})
    assert response.status_code == 400
    page = response.content.decode()
    assert response.context["invite_form"].errors["email"]
    email_block = page[page.index('<label for="id_email"') : page.index('<label for="id_role"')]
    assert 'aria-invalid="true" aria-describedby="id_email_error"' in email_block
    assert '<ul class="errorlist" id="id_email_error"><li>Enter a valid email address.</li></ul>' in email_block


def test_invite_existing_member_is_refused_next_to_email(browser_client, organization):
    member = MembershipFactory(organization=organization)
    response = browser_client.post(reverse("team_invite"), {"email": member.user.email, "role": "member"})
    assert response.status_code == 409
    assert "already a member" in response.context["invite_form"].errors["email"][0]


def test_admin_cannot_invite_an_owner(admin_client):
    response = admin_client.post(reverse("team_invite"), {"email": "boss@example.com", "role": "owner"})
    assert response.status_code == 400
    assert "role" in response.context["invite_form"].errors
    assert not Invitation.objects.exists()


def test_reinviting_replaces_the_pending_invitation(browser_client):
    browser_client.post(reverse("team_invite"), {"email": "twice@example.com", "role": "member"})
    browser_client.post(reverse("team_invite"), {"email": "twice@example.com", "role": "admin"})
    old, new = Invitation.objects.order_by("created_at", "pk")
    assert old.revoked_at is not None and new.revoked_at is None and new.role == "admin"


def test_revoke_invitation(browser_client, organization):
    invitation, token = services.invitation_create(actor=_owner(organization), email="gone@example.com")
    response = browser_client.post(reverse("invitation_revoke", args=[invitation.pk]))
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert browser_client.get(reverse("invitation_accept", args=[token])).status_code == 404


def test_revoking_another_tenants_invitation_answers_404(browser_client, other_organization):
    invitation, _ = services.invitation_create(actor=_owner(other_organization), email="theirs@example.com")
    assert browser_client.post(reverse("invitation_revoke", args=[invitation.pk])).status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_accept_invitation_as_logged_in_user_with_that_email(client, organization):
    invitation, token = services.invitation_create(actor=_owner(organization), email="joiner@example.com", role="admin")
    joiner = UserFactory(email="joiner@example.com")
    OrganizationFactory(owner=joiner)  # their personal workspace
    client.force_login(joiner)
    page = client.get(reverse("invitation_accept", args=[token])).content.decode()
    assert escape(organization.name) in page and "Accept and join" in page
    response = client.post(reverse("invitation_accept", args=[token]))
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    assert Membership.objects.get(organization=organization, user=joiner).role == Role.ADMIN
    assert escape(organization.name) in client.get(reverse("dashboard")).content.decode()  # now the active one
    # A used link is spent.
    assert client.get(reverse("invitation_accept", args=[token])).status_code == 404


def test_accept_with_another_email_is_refused(client, organization):
    _, token = services.invitation_create(actor=_owner(organization), email="right@example.com")
    client.force_login(UserFactory(email="wrong@example.com"))
    assert (
        "this invitation is for right@example.com"
        in client.get(reverse("invitation_accept", args=[token])).content.decode()
    )
    response = client.post(reverse("invitation_accept", args=[token]))
    assert response.status_code == 403
    assert not Membership.objects.filter(organization=organization, user__email="wrong@example.com").exists()


def test_sign_up_from_invitation_then_accept(client, organization):
    _, token = services.invitation_create(actor=_owner(organization), email="fresh@example.com")
    accept_url = reverse("invitation_accept", args=[token])
    page = client.get(accept_url).content.decode()
    assert f"{reverse('account_signup')}?next={accept_url}" in page.replace("%2F", "/")
    response = client.post(
        reverse("account_signup"),
        {
            "email": "fresh@example.com",
            "password1": "a-Strong-pass-99",
            "password2": "a-Strong-pass-99",
            "next": accept_url,
        },
    )
    assert response.status_code == 302 and response["Location"] == accept_url
    client.post(accept_url)
    assert Membership.objects.filter(organization=organization, user__email="fresh@example.com").exists()


def test_unknown_token_answers_friendly_404(client):
    response = client.get(reverse("invitation_accept", args=["nope"]))
    assert response.status_code == 404 and "no longer valid" in response.content.decode()


def test_expired_invitation_cannot_be_accepted(client, organization):
    invitation, token = services.invitation_create(actor=_owner(organization), email="late@example.com")
    Invitation.objects.filter(pk=invitation.pk).update(created_at=invitation.created_at.replace(year=2020))
    client.force_login(UserFactory(email="late@example.com"))
    assert client.post(reverse("invitation_accept", args=[token])).status_code == 404
    assert not Membership.objects.filter(organization=organization, user__email="late@example.com").exists()


def test_change_role(browser_client, organization):
    member = MembershipFactory(organization=organization, role=Role.MEMBER)
    response = browser_client.post(reverse("member_role", args=[member.pk]), {"role": "admin"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.role == Role.ADMIN


def test_invalid_role_shows_error_next_to_that_members_select(browser_client, organization):
    member = MembershipFactory(organization=organization)
    response = browser_client.post(reverse("member_role", args=[member.pk]), {"role": "emperor"})
    assert response.status_code == 400
    assert f'id="role-{member.pk}-error"' in response.content.decode()


def test_last_owner_cannot_be_demoted(browser_client, organization, user):
    own = Membership.objects.get(organization=organization, user=user)
    response = browser_client.post(reverse("member_role", args=[own.pk]), {"role": "member"})
    assert response.status_code == 409
    assert "at least one owner" in response.content.decode()
    own.refresh_from_db()
    assert own.role == Role.OWNER


def test_admin_cannot_change_an_owner(admin_client, organization):
    owner = _owner(organization)
    response = admin_client.post(reverse("member_role", args=[owner.pk]), {"role": "admin"})
    assert response.status_code == 403
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_member_cannot_change_roles(member_client, organization):
    response = member_client.post(reverse("member_role", args=[member_client.member.pk]), {"role": "admin"})
    assert response.status_code == 403
    member_client.member.refresh_from_db()
    assert member_client.member.role == Role.MEMBER


def test_changing_another_tenants_member_answers_404(browser_client, other_organization):
    stranger = _owner(other_organization)
    assert browser_client.post(reverse("member_role", args=[stranger.pk]), {"role": "member"}).status_code == 404
    assert browser_client.get(reverse("member_remove", args=[stranger.pk])).status_code == 404


def test_remove_member_with_confirmation(browser_client, organization):
    member = MembershipFactory(organization=organization)
    confirm = browser_client.get(reverse("member_remove", args=[member.pk]))
    assert confirm.status_code == 200 and member.user.email in confirm.content.decode()
    assert Membership.objects.filter(pk=member.pk).exists()
    assert browser_client.post(reverse("member_remove", args=[member.pk])).status_code == 302
    assert not Membership.objects.filter(pk=member.pk).exists()


def test_last_owner_cannot_be_removed(browser_client, organization, user):
    own = Membership.objects.get(organization=organization, user=user)
    response = browser_client.post(reverse("member_remove", args=[own.pk]))
    assert response.status_code == 409 and "at least one owner" in response.content.decode()
    assert Membership.objects.filter(pk=own.pk).exists()


def test_admin_cannot_remove_an_owner(admin_client, organization):
    owner = _owner(organization)
    assert admin_client.post(reverse("member_remove", args=[owner.pk])).status_code == 403
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_second_owner_can_leave(browser_client, organization, user):
    MembershipFactory(organization=organization, role=Role.OWNER)
    own = Membership.objects.get(organization=organization, user=user)
    response = browser_client.post(reverse("member_remove", args=[own.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    assert not Membership.objects.filter(pk=own.pk).exists()
    assert browser_client.get(reverse("team")).status_code == 302  # no organization left


def test_wrong_methods_answer_405(browser_client, organization):
    assert browser_client.get(reverse("team_invite")).status_code == 405
    assert browser_client.post(reverse("team")).status_code == 405


def test_only_owner_is_offered_no_demote_or_leave(browser_client, organization, user):
    own = Membership.objects.get(organization=organization, user=user)
    page = browser_client.get(reverse("team")).content.decode()
    assert reverse("member_remove", args=[own.pk]) not in page and f'id="role-{own.pk}"' not in page
    MembershipFactory(organization=organization, role=Role.OWNER)
    page = browser_client.get(reverse("team")).content.decode()
    assert reverse("member_remove", args=[own.pk]) in page and f'id="role-{own.pk}"' in page


def test_mail_server_failure_is_reported_on_the_invite_form(browser_client, settings):
    settings.EMAIL_BACKEND = "tests.accounts.test_invitations.BrokenSMTP"
    response = browser_client.post(reverse("team_invite"), {"email": "lost@example.com", "role": "member"})
    assert response.status_code == 503
    assert "could not send the invitation email" in response.content.decode()
    assert "lost@example.com" not in response.content.decode().split("Pending invitations")[1]
