"""Every read in accounts; tenant data is always read through one organization."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import ApiKey, EndUser, Invitation, Membership, Organization, User


def membership_list(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("organization").order_by("organization__name")


def membership_get(*, user: User, organization_id: int) -> Membership | None:
    return Membership.objects.select_related("organization").filter(user=user, organization_id=organization_id).first()


def member_list(*, organization: Organization) -> QuerySet[Membership]:
    return Membership.objects.filter(organization=organization).select_related("user").order_by("user__email")


def member_get(*, organization: Organization, membership_id: int) -> Membership:
    return get_object_or_404(Membership.objects.select_related("user"), organization=organization, pk=membership_id)


def api_key_list(*, organization: Organization) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(organization=organization).order_by("-created_at")


def api_key_get(*, organization: Organization, api_key_id: int) -> ApiKey:
    return get_object_or_404(ApiKey, organization=organization, pk=api_key_id)


def end_user_list(*, organization: Organization) -> QuerySet[EndUser]:
    return EndUser.objects.filter(organization=organization).order_by("-created_at")


def end_user_get(*, organization: Organization, external_id: str) -> EndUser:
    return get_object_or_404(EndUser, organization=organization, external_id=external_id)


def end_users_of_user(*, user: User, external_id: str) -> list[EndUser]:
    """A browser user's own end-user row (`external_id`) in each organization they belong to, not yet erased."""
    organization_ids = Membership.objects.filter(user=user).values_list("organization_id", flat=True)
    return list(
        EndUser.objects.filter(organization_id__in=organization_ids, external_id=external_id, erased_at=None)
        .select_related("organization")
        .order_by("organization_id")
    )


INVITATION_TTL = timedelta(days=7)


def invitation_is_pending(invitation: Invitation) -> bool:
    """Not accepted, not revoked, not expired."""
    return (
        invitation.accepted_at is None
        and invitation.revoked_at is None
        and invitation.created_at > timezone.now() - INVITATION_TTL
    )


def invitation_list_pending(*, organization: Organization) -> QuerySet[Invitation]:
    """Invitations still waiting for an answer, newest first."""
    return (
        Invitation.objects.filter(
            organization=organization,
            accepted_at=None,
            revoked_at=None,
            created_at__gt=timezone.now() - INVITATION_TTL,
        )
        .select_related("invited_by")
        .order_by("-created_at")
    )


def invitation_get(*, organization: Organization, invitation_id: int) -> Invitation:
    return get_object_or_404(Invitation, organization=organization, pk=invitation_id)


def invitation_get_by_token(*, token: str) -> Invitation | None:
    """The pending invitation behind an emailed token; the token itself is the capability, so no organization."""
    token_hash = hashlib.sha256((token or "").encode()).hexdigest()
    invitation = Invitation.objects.select_related("organization", "invited_by").filter(token_hash=token_hash).first()
    return invitation if invitation is not None and invitation_is_pending(invitation) else None


def membership_is_current(*, organization_id: int, membership_id: int) -> bool:
    """False once the member left or was removed (signed media links issued to them stop working)."""
    return Membership.objects.filter(pk=membership_id, organization_id=organization_id).exists()


def api_key_is_current(*, organization_id: int, api_key_id: int) -> bool:
    """False once the key is revoked or deleted."""
    return ApiKey.objects.filter(pk=api_key_id, organization_id=organization_id, revoked_at__isnull=True).exists()
