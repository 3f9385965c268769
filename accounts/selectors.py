"""Every read in accounts; tenant data is always read through one organization."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import ApiKey, EndUser, Membership, Organization, User


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
