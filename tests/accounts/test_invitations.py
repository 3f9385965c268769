"""Team services: invitations (hashed tokens, expiry, email failures), role grants and removal rules."""

import hashlib

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from accounts import selectors, services
from accounts.models import Invitation, Membership, Role
from seedance_saas.errors import Conflict, NotFound, ServiceError
from tests.factories import MembershipFactory, UserFactory


class BrokenSMTP(BaseEmailBackend):
    """The mail transport failing, as an SMTP server that refuses the connection would."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("smtp down")


@pytest.fixture
def owner(organization, user):
    return Membership.objects.get(organization=organization, user=user)


def test_token_is_emailed_and_only_its_hash_is_stored(owner):
    invitation, token = services.invitation_create(actor=owner, email=" Person@Example.COM ", role=Role.ADMIN)
    assert invitation.email == "person@example.com"
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not Invitation.objects.filter(token_hash__contains=token).exists()
    assert token in mail.outbox[0].body and "http://" in mail.outbox[0].body
    assert selectors.invitation_get_by_token(token=token) == invitation
    assert selectors.invitation_get_by_token(token=token + "x") is None


def test_email_failure_leaves_no_live_invitation(owner, settings):
    settings.EMAIL_BACKEND = f"{__name__}.BrokenSMTP"
    with pytest.raises(ServiceError) as error:
        services.invitation_create(actor=owner, email="lost@example.com")
    assert error.value.code == "email_failed"
    assert not selectors.invitation_list_pending(organization=owner.organization).exists()


def test_accept_creates_membership_once(owner):
    invitation, token = services.invitation_create(actor=owner, email="joiner@example.com", role=Role.ADMIN)
    joiner = UserFactory(email="Joiner@example.com")
    membership = services.invitation_accept(token=token, user=joiner)
    assert (membership.organization, membership.role) == (owner.organization, Role.ADMIN)
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    with pytest.raises(NotFound):
        services.invitation_accept(token=token, user=joiner)


def test_accept_by_an_existing_member_keeps_their_role(owner):
    member = MembershipFactory(organization=owner.organization, role=Role.ADMIN)
    invitation = Invitation.objects.create(
        organization=owner.organization,
        email=member.user.email,
        role=Role.MEMBER,
        token_hash=hashlib.sha256(b"tok").hexdigest(),
    )
    assert services.invitation_accept(token="tok", user=member.user).role == Role.ADMIN
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None


def test_revoked_invitation_cannot_be_accepted(owner):
    invitation, token = services.invitation_create(actor=owner, email="x@example.com")
    services.invitation_revoke(invitation=invitation)
    with pytest.raises(NotFound):
        services.invitation_accept(token=token, user=UserFactory(email="x@example.com"))


@pytest.mark.parametrize(
    ("actor_role", "role", "target_role", "allowed"),
    [
        (Role.OWNER, Role.OWNER, Role.MEMBER, True),
        (Role.OWNER, Role.MEMBER, Role.OWNER, True),
        (Role.ADMIN, Role.ADMIN, Role.MEMBER, True),
        (Role.ADMIN, Role.OWNER, Role.MEMBER, False),
        (Role.ADMIN, Role.MEMBER, Role.OWNER, False),
        (Role.MEMBER, Role.MEMBER, Role.MEMBER, False),
    ],
)
def test_who_may_grant_which_role(organization, actor_role, role, target_role, allowed):
    actor = MembershipFactory(organization=organization, role=actor_role)
    target = MembershipFactory(organization=organization, role=target_role)
    if allowed:
        assert services.member_set_role(actor=actor, membership=target, role=role).role == role
    else:
        with pytest.raises(services.NotAllowed):
            services.member_set_role(actor=actor, membership=target, role=role)
        target.refresh_from_db()
        assert target.role == target_role


def test_last_owner_stays(owner):
    with pytest.raises(Conflict):
        services.membership_remove(actor=owner, membership=owner)
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_member_cannot_invite(organization):
    member = MembershipFactory(organization=organization, role=Role.MEMBER)
    with pytest.raises(services.NotAllowed):
        services.invitation_create(actor=member, email="friend@example.com")
    assert not Invitation.objects.exists() and not mail.outbox
