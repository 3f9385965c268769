"""The one place that decides which organization a browser request acts for."""

from __future__ import annotations

from django.http import HttpRequest

from accounts import selectors
from seedance_saas.observability.request_id import bind_organization

SESSION_KEY = "active_organization_id"


def resolve_membership(request: HttpRequest):
    """The user's active membership: the one chosen in the session, else the first one."""
    user = request.user
    if not user.is_authenticated:
        return None
    organization_id = request.session.get(SESSION_KEY)
    membership = selectors.membership_get(user=user, organization_id=organization_id) if organization_id else None
    if membership is None:
        membership = selectors.membership_list(user=user).first()
        if membership is not None:
            request.session[SESSION_KEY] = membership.organization_id
    return membership


def activate(request: HttpRequest, *, organization_id: int) -> bool:
    """Switch the session to another of the user's organizations; False if not a member."""
    if selectors.membership_get(user=request.user, organization_id=organization_id) is None:
        return False
    request.session[SESSION_KEY] = organization_id
    return True


class ActiveOrganizationMiddleware:
    """Sets request.membership and request.organization (None when logged out or in no organization)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        membership = resolve_membership(request)
        request.membership = membership
        request.organization = membership.organization if membership else None
        bind_organization(membership.organization_id if membership else None)
        return self.get_response(request)


def organization_context(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "active_membership": getattr(request, "membership", None),
        "organization": getattr(request, "organization", None),
        "user_memberships": selectors.membership_list(user=user),
    }
