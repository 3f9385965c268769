"""Every write in accounts: organizations, memberships, API keys, end users."""

from __future__ import annotations

import hashlib
import re
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.text import slugify

from accounts.models import ApiKey, EndUser, Membership, Organization, Role, User
from accounts.signals import organization_created
from seedance_saas.errors import Conflict, InvalidInput

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
def organization_create(*, name: str, owner: User) -> Organization:
    name = name.strip()
    if not name:
        raise InvalidInput("An organization needs a name.", fields={"name": ["This field is required."]})
    organization = Organization.objects.create(name=name, slug=_unique_slug(name))
    Membership.objects.create(user=owner, organization=organization, role=Role.OWNER)
    organization_created.send(sender=Organization, organization=organization)
    return organization


def organization_create_personal(*, user: User) -> Organization:
    """The first sign-up gets an organization of its own, with the user as owner."""
    local_part = user.email.split("@", 1)[0]
    return organization_create(name=f"{local_part}'s workspace", owner=user)


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


def api_key_create(*, organization: Organization, name: str, created_by: User | None = None) -> tuple[ApiKey, str]:
    """Returns the key and its secret; the secret is not stored and cannot be shown again."""
    name = name.strip()
    if not name:
        raise InvalidInput("Give the key a name.", fields={"name": ["This field is required."]})
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        organization=organization,
        name=name[:100],
        prefix=secret[:API_KEY_VISIBLE_CHARS],
        secret_hash=_hash_secret(secret),
        created_by=created_by,
    )
    return key, secret


def api_key_authenticate(*, secret: str) -> ApiKey | None:
    """The active key for this secret, with `last_used_at` kept, or None."""
    if not secret.startswith(API_KEY_PREFIX):
        return None
    key = (
        ApiKey.objects.select_related("organization").filter(secret_hash=_hash_secret(secret), revoked_at=None).first()
    )
    if key is None:
        return None
    now = timezone.now()
    # Write at most once a minute per key so a busy key does not write on every request.
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
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
