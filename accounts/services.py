"""Every write in accounts: organizations, memberships, invitations, API keys, end users."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.text import slugify

from accounts import api_key_cache, erasure, selectors
from accounts import scopes as scope_rules
from accounts.models import ApiKey, EndUser, Invitation, Membership, Organization, Role, User
from accounts.signals import organization_created
from seedance_saas.errors import Conflict, InvalidInput, NotFound, ServiceError

logger = logging.getLogger(__name__)

API_KEY_PREFIX = "sk_live_"
API_KEY_VISIBLE_CHARS = 12
# Partner ids never contain ":"; our own ids do, so the two can never collide.
BROWSER_EXTERNAL_ID = "user:{user_id}"
DEFAULT_EXTERNAL_ID = ":default"
PARTNER_EXTERNAL_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+\-]{0,127}$")


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "org"
    slug = base
    while Organization.objects.filter(slug=slug).exists():
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


@transaction.atomic
def organization_create(*, name: str, owner: User, self_service: bool = False) -> Organization:
    """`self_service`: made by a sign-up rather than an operator (billing then holds the trial until verification)."""
    name = name.strip()
    if not name:
        raise InvalidInput("An organization needs a name.", fields={"name": ["This field is required."]})
    organization = Organization.objects.create(name=name, slug=_unique_slug(name))
    Membership.objects.create(user=owner, organization=organization, role=Role.OWNER)
    organization_created.send(sender=Organization, organization=organization, self_service=self_service)
    return organization


def organization_create_personal(*, user: User) -> Organization:
    """The first sign-up gets an organization of its own, with the user as owner."""
    local_part = user.email.split("@", 1)[0]
    return organization_create(name=f"{local_part}'s workspace", owner=user, self_service=True)


def membership_add(*, organization: Organization, user: User, role: str = Role.MEMBER) -> Membership:
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}.", fields={"role": [f"Choose one of {', '.join(Role.values)}."]})
    membership, created = Membership.objects.get_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    if not created:
        raise Conflict(f"{user.email} is already a member of {organization.name}.")
    return membership


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str) -> Membership:
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}.", fields={"role": [f"Choose one of {', '.join(Role.values)}."]})
    owners = Membership.objects.select_for_update().filter(organization=membership.organization, role=Role.OWNER)
    if membership.role == Role.OWNER and role != Role.OWNER and owners.count() <= 1:
        raise Conflict("An organization needs at least one owner; make someone else owner first.")
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


def _hash_secret(secret: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_create(
    *, organization: Organization, name: str, created_by: User | None = None, scopes: Iterable[str] | None = None
) -> tuple[ApiKey, str]:
    """Returns the key and its secret; the secret is not stored and cannot be shown again.

    `scopes` (accounts/scopes.py) default to all of them: a full-access key.
    """
    name = name.strip()
    if not name:
        raise InvalidInput("Give the key a name.", fields={"name": ["This field is required."]})
    try:
        scopes = scope_rules.all_scopes() if scopes is None else scope_rules.normalize(scopes)
    except ValueError as exc:
        raise InvalidInput(str(exc), fields={"scopes": [str(exc)]}) from exc
    if not scopes:
        raise InvalidInput("Give the key at least one scope.", fields={"scopes": ["Choose at least one scope."]})
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        organization=organization,
        name=name[:100],
        prefix=secret[:API_KEY_VISIBLE_CHARS],
        secret_hash=_hash_secret(secret),
        created_by=created_by,
        scopes=scopes,
    )
    return key, secret


def api_key_authenticate(*, secret: str) -> ApiKey | None:
    """The active key for this secret, with `last_used_at` kept, or None."""
    if not secret.startswith(API_KEY_PREFIX):
        return None
    key = api_key_cache.cached_key(_hash_secret(secret), load=_api_key_load)
    if key is not None:
        _api_key_touch(key)
    return key


def _api_key_load(secret_hash: str) -> ApiKey | None:
    key = ApiKey.objects.select_related("organization").filter(secret_hash=secret_hash, revoked_at=None).first()
    if key is not None:
        _api_key_touch(key)  # before it is cached, so cached copies are fresh and hits need not touch
    return key


def _api_key_touch(key: ApiKey) -> None:
    """Keeps `last_used_at`, writing at most once a minute per key so a busy key does not write on every request."""
    now = timezone.now()
    stale = key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60
    if stale and api_key_cache.should_touch(key):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        api_key_cache.forget(api_key.secret_hash)
    return api_key


def end_user_upstream_id(*, organization: Organization, external_id: str) -> str:
    """A stable, opaque id for the provider: no email or partner id can be read back from it."""
    digest = salted_hmac(
        "seedance.end_user_id",
        f"{organization.pk}:{external_id}",
        secret=settings.END_USER_ID_SECRET,
        algorithm="sha256",
    ).hexdigest()
    return f"eu_{digest[:40]}"


def _end_user_get_or_create(*, organization: Organization, external_id: str) -> EndUser:
    existing = EndUser.objects.filter(organization=organization, external_id=external_id).first()
    if existing is not None:
        if existing.erased_at is not None:  # someone naming an anonymous id: it stays erased
            raise erasure.EndUserErased("This end user was erased; their generations cannot continue.")
        return existing
    erasure.refuse_if_erased(organization=organization, external_id=external_id)
    try:
        end_user, _ = EndUser.objects.get_or_create(
            organization=organization,
            external_id=external_id,
            defaults={"upstream_id": end_user_upstream_id(organization=organization, external_id=external_id)},
        )
    except IntegrityError:  # a concurrent request created it first
        end_user = EndUser.objects.get(organization=organization, external_id=external_id)
    return end_user


def end_user_for_partner(*, organization: Organization, external_id: str) -> EndUser:
    """The partner's end user by its own id, created on first use."""
    if not PARTNER_EXTERNAL_ID_RE.match(external_id or ""):
        raise InvalidInput(
            "end_user_id must be 1-128 characters of letters, digits and _ . @ + -, starting with a letter or digit.",
            fields={"end_user_id": ["Use 1-128 characters: letters, digits, _ . @ + - (no spaces or colons)."]},
        )
    return _end_user_get_or_create(organization=organization, external_id=external_id)


def end_user_for_user(*, organization: Organization, user: User) -> EndUser:
    """A browser user's end-user row in this organization."""
    return _end_user_get_or_create(organization=organization, external_id=BROWSER_EXTERNAL_ID.format(user_id=user.pk))


def end_user_default(*, organization: Organization) -> EndUser:
    """The end user for API calls that name none."""
    return _end_user_get_or_create(organization=organization, external_id=DEFAULT_EXTERNAL_ID)


def end_user_update(*, end_user: EndUser, monthly_spend_limit=..., blocked: bool | None = None) -> EndUser:
    if end_user.erased_at is not None:
        raise erasure.EndUserErased("This end user was erased; it cannot be changed.")
    fields = []
    if monthly_spend_limit is not ...:
        if monthly_spend_limit is not None and monthly_spend_limit < 0:
            raise InvalidInput("A spend limit cannot be negative.", fields={"monthly_spend_limit": ["Use 0 or more."]})
        end_user.monthly_spend_limit = monthly_spend_limit
        fields.append("monthly_spend_limit")
    if blocked is not None:
        end_user.blocked = blocked
        fields.append("blocked")
    if fields:
        end_user.save(update_fields=fields)
    return end_user


# --- Team: roles, removal, invitations ---------------------------------------------


class NotAllowed(ServiceError):
    """The acting member's role does not allow this change."""

    code = "forbidden"
    status_code = 403
    default_message = "Your role does not allow this."


class EmailNotSent(ServiceError):
    """The mail server did not take the message; nothing was left half-done."""

    code = "email_failed"
    status_code = 503
    default_message = "We could not send the invitation email; please try again in a minute."


def role_grant_check(*, actor: Membership, role: str, target: Membership | None = None) -> None:
    """Owners and admins manage members; only an owner may make or unmake an owner."""
    if not actor.can_manage:
        raise NotAllowed("Only owners and admins can manage the team.")
    touches_owner = role == Role.OWNER or (target is not None and target.role == Role.OWNER)
    if touches_owner and actor.role != Role.OWNER:
        raise NotAllowed("Only an owner can make someone an owner or change an owner's role.")


def member_set_role(*, actor: Membership, membership: Membership, role: str) -> Membership:
    """A role change made by `actor`, who must be allowed to make it."""
    role_grant_check(actor=actor, role=role, target=membership)
    return membership_set_role(membership=membership, role=role)


@transaction.atomic
def membership_remove(*, actor: Membership, membership: Membership) -> None:
    """Takes a member out of the organization; the last owner stays."""
    role_grant_check(actor=actor, role=membership.role, target=membership)
    owners = Membership.objects.select_for_update().filter(organization=membership.organization, role=Role.OWNER)
    if membership.role == Role.OWNER and owners.count() <= 1:
        raise Conflict("An organization needs at least one owner; make someone else owner first.")
    membership.delete()


def user_set_notifications(*, user: User, notify_video_finished: bool) -> User:
    user.notify_video_finished = notify_video_finished
    user.save(update_fields=["notify_video_finished"])
    return user


def _send_invitation_email(*, invitation: Invitation, token: str) -> None:
    accept_url = settings.SITE_URL + reverse("invitation_accept", kwargs={"token": token})
    inviter = invitation.invited_by.email if invitation.invited_by else "A teammate"
    context = {
        "invitation": invitation,
        "accept_url": accept_url,
        "inviter": inviter,
        "ttl_days": selectors.INVITATION_TTL.days,
    }
    send_mail(
        subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{inviter} invited you to {invitation.organization.name}",
        message=render_to_string("accounts/email/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )


def invitation_create(*, actor: Membership, email: str, role: str = Role.MEMBER) -> tuple[Invitation, str]:
    """Invites `email` into the actor's organization and emails the link; returns the invitation and its token.

    Only the token's SHA-256 is stored. A new invitation to the same address replaces a pending one.
    """
    organization = actor.organization
    email = (email or "").strip().lower()
    if not email or "@" not in email:
        raise InvalidInput("Enter an email address.", fields={"email": ["Enter a valid email address."]})
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}.", fields={"role": [f"Choose one of {', '.join(Role.values)}."]})
    role_grant_check(actor=actor, role=role)
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise Conflict(f"{email} is already a member of {organization.name}.", fields={"email": ["Already a member."]})
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        Invitation.objects.filter(
            organization=organization, email__iexact=email, accepted_at=None, revoked_at=None
        ).update(revoked_at=timezone.now())
        invitation = Invitation.objects.create(
            organization=organization, email=email, role=role, token_hash=_hash_secret(token), invited_by=actor.user
        )
    try:
        _send_invitation_email(invitation=invitation, token=token)
    except Exception as exc:  # SMTP failures vary by backend; an invitation nobody received must not linger
        logger.exception("invitation email to %s failed", email)
        invitation_revoke(invitation=invitation)
        raise EmailNotSent() from exc
    return invitation, token


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    """Turns a pending invitation addressed to `user`'s email into a membership (idempotent for members)."""
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("organization")
        .filter(token_hash=_hash_secret(token or ""))
        .first()
    )
    if invitation is None or not selectors.invitation_is_pending(invitation):
        raise NotFound("This invitation is no longer valid; ask for a new one.")
    if invitation.email.lower() != user.email.lower():
        raise NotAllowed(f"This invitation is for {invitation.email}; log in with that address to accept it.")
    membership = Membership.objects.filter(organization=invitation.organization, user=user).first()
    if membership is None:
        membership = Membership.objects.create(organization=invitation.organization, user=user, role=invitation.role)
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    return membership


def invitation_revoke(*, invitation: Invitation) -> Invitation:
    if invitation.revoked_at is None and invitation.accepted_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
    return invitation
