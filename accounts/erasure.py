"""The accounts side of erasing an end user: an anonymous id for the kept rows, a digest to refuse the old id."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.models import ApiKey, EndUser, EndUserErasure, Invitation, Membership, Organization, Role, User
from seedance_saas.errors import Conflict


class EndUserErased(Conflict):
    code = "end_user_erased"


def subject_digest(*, organization: Organization, external_id: str) -> str:
    """A keyed hash of an erased id: enough to recognise it again, useless to read it back."""
    return salted_hmac(
        "seedance.end_user_erased", f"{organization.pk}:{external_id}", secret=settings.END_USER_ID_SECRET
    ).hexdigest()


def refuse_if_erased(*, organization: Organization, external_id: str) -> None:
    """A new end user for an id erased less than END_USER_ERASURE_REFUSAL_DAYS ago is refused."""
    erasure = (
        EndUserErasure.objects.filter(
            organization=organization,
            subject_digest=subject_digest(organization=organization, external_id=external_id),
            refused_until__gt=timezone.now(),
        )
        .order_by("-refused_until")
        .first()
    )
    if erasure is not None:
        raise EndUserErased(
            f"This end user was erased on {erasure.created_at:%Y-%m-%d}; their id cannot be used again until "
            f"{erasure.refused_until:%Y-%m-%d}."
        )


def end_user_anonymize(
    *,
    end_user: EndUser,
    files: list[str],
    generations_erased: int,
    requested_by: User | None = None,
    api_key: ApiKey | None = None,
    origin: str = EndUserErasure.Origin.API,
    refuse: bool = True,
) -> EndUserErasure:
    """Give the end user an anonymous id (the money rows keep pointing at it) and write the audit record.

    Runs inside the caller's transaction, beside the erasure of everything else. `refuse=False` (the
    organization's default end user, which is no person) lets the id be used again at once.
    """
    now = timezone.now()
    original = end_user.external_id
    anonymous_id = f"erased_{secrets.token_hex(12)}"
    with transaction.atomic():
        erasure = EndUserErasure.objects.create(
            organization_id=end_user.organization_id,
            end_user=end_user,
            anonymous_id=anonymous_id,
            subject_digest=subject_digest(organization=end_user.organization, external_id=original),
            refused_until=now + timedelta(days=settings.END_USER_ERASURE_REFUSAL_DAYS if refuse else 0),
            requested_by=requested_by,
            requested_by_api_key=api_key,
            origin=origin,
            generations_erased=generations_erased,
            files_pending=[name for name in files if name],
            completed_at=None if any(files) else now,
        )
        end_user.external_id = anonymous_id
        end_user.upstream_id = f"eu_{secrets.token_hex(20)}"
        end_user.blocked = True
        end_user.erased_at = now
        end_user.save(update_fields=["external_id", "upstream_id", "blocked", "erased_at"])
    return erasure


class AccountDeletionRefused(Conflict):
    code = "account_deletion_refused"


def user_delete_check(*, user: User) -> None:
    """Refuses while the user is the only owner of an organization that has other members (they would be left
    with nobody to manage billing, keys and the team)."""
    for membership in Membership.objects.filter(user=user, role=Role.OWNER).select_related("organization"):
        organization = membership.organization
        members = Membership.objects.filter(organization=organization)
        if members.exclude(user=user).exists() and not members.filter(role=Role.OWNER).exclude(user=user).exists():
            raise AccountDeletionRefused(
                f"You are the only owner of {organization.name}, which has other members. Make one of them an "
                "owner on the Team page first (or remove them), then delete your account."
            )


def user_delete(*, user: User) -> None:
    """Delete the user: memberships and email addresses go with them; rows they made keep no link to them
    (created_by is SET_NULL). Invitations sent to their address go too (the address is theirs)."""
    with transaction.atomic():
        user_delete_check(user=user)
        Invitation.objects.filter(email__iexact=user.email).delete()
        user.delete()
