"""Browser views of accounts: landing, dashboard, organization switcher, team, invitations, API keys."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import forms, scopes, selectors, services, tenancy
from accounts.models import Role
from seedance_saas.errors import NotFound, ServiceError

MANAGE_TEAM = "Only owners and admins of {org} can manage the team. Ask one of them to make this change."
MANAGE_KEYS = "Only owners and admins of {org} can create or revoke API keys. Ask one of them to do it."


def membership_required(manage_message: str | None = None):
    """Logged in with an active organization; with `manage_message`, an owner or admin too (else 403 saying why)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request: HttpRequest, *args, **kwargs):
            if request.membership is None:
                messages.error(request, "You are not a member of any organization yet.")
                return redirect("dashboard")
            if manage_message and not request.membership.can_manage:
                raise PermissionDenied(manage_message.format(org=request.organization.name))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/dashboard.html")


@login_required
@require_POST
def organization_switch(request: HttpRequest) -> HttpResponse:
    try:
        organization_id = int(request.POST.get("organization", ""))
    except ValueError:
        organization_id = 0
    if not tenancy.activate(request, organization_id=organization_id):
        messages.error(request, "You are not a member of that organization.")
    next_url = request.POST.get("next") or "dashboard"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "dashboard"
    return redirect(next_url)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """The user's own settings: for now, whether a finished video sends them an email."""
    if request.method == "POST":
        form = forms.NotificationSettingsForm(request.POST)
        if form.is_valid():
            services.user_set_notifications(
                user=request.user, notify_video_finished=form.cleaned_data["notify_video_finished"]
            )
            messages.success(request, "Your settings are saved.")
            return redirect("profile")
    else:
        form = forms.NotificationSettingsForm(initial={"notify_video_finished": request.user.notify_video_finished})
    return profile_render(request, form=form)


def profile_render(request: HttpRequest, *, form=None, delete_form=None, status: int = 200) -> HttpResponse:
    """The settings page; the account deletion form posts to generations (it erases the user's videos first)."""
    if form is None:
        form = forms.NotificationSettingsForm(initial={"notify_video_finished": request.user.notify_video_finished})
    context = {"form": form, "delete_form": delete_form or forms.AccountDeleteForm(user=request.user)}
    return render(request, "accounts/profile.html", context, status=status)


# --- Team -----------------------------------------------------------------------


def _render_team(request: HttpRequest, *, invite_form=None, row_errors=None, status: int = 200) -> HttpResponse:
    actor = request.membership
    members = list(selectors.member_list(organization=request.organization))
    owner_count = sum(member.role == Role.OWNER for member in members)
    for member in members:
        # The only owner can neither be demoted nor leave; offering the controls would only lead to an error.
        member.editable = _can_edit(actor, member) and not (member.role == Role.OWNER and owner_count == 1)
        member.error = (row_errors or {}).get(member.pk)
    context = {
        "members": members,
        "can_manage": actor.can_manage,
        "role_choices": forms.MemberRoleForm(actor=actor).fields["role"].choices,
        "invitations": selectors.invitation_list_pending(organization=request.organization) if actor.can_manage else [],
        "invite_form": invite_form or forms.InvitationForm(actor=actor),
    }
    return render(request, "accounts/team.html", context, status=status)


def _can_edit(actor, member) -> bool:
    return actor.can_manage and (member.role != Role.OWNER or actor.role == Role.OWNER)


@require_GET
@membership_required()
def team(request: HttpRequest) -> HttpResponse:
    return _render_team(request)


@require_POST
@membership_required(MANAGE_TEAM)
def team_invite(request: HttpRequest) -> HttpResponse:
    form = forms.InvitationForm(request.POST, actor=request.membership)
    if not form.is_valid():
        return _render_team(request, invite_form=form, status=400)
    try:
        invitation, _token = services.invitation_create(
            actor=request.membership, email=form.cleaned_data["email"], role=form.cleaned_data["role"]
        )
    except ServiceError as error:
        _add_service_error(form, error)
        return _render_team(request, invite_form=form, status=error.status_code)
    messages.success(request, f"Invitation sent to {invitation.email}. The link works for 7 days.")
    return redirect("team")


def _add_service_error(form, error: ServiceError) -> None:
    """Puts a service's message next to the field it is about, or above the form."""
    target = next((name for name in (error.fields or {}) if name in form.fields), None)
    form.add_error(target, error.message)


@require_POST
@membership_required(MANAGE_TEAM)
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = selectors.invitation_get(organization=request.organization, invitation_id=invitation_id)
    services.invitation_revoke(invitation=invitation)
    messages.success(request, f"The invitation to {invitation.email} is revoked; its link no longer works.")
    return redirect("team")


@require_POST
@membership_required(MANAGE_TEAM)
def member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    member = selectors.member_get(organization=request.organization, membership_id=membership_id)
    form = forms.MemberRoleForm(request.POST, actor=request.membership)
    if not form.is_valid():
        return _render_team(request, row_errors={member.pk: form.errors["role"][0]}, status=400)
    try:
        services.member_set_role(actor=request.membership, membership=member, role=form.cleaned_data["role"])
    except services.NotAllowed as error:
        raise PermissionDenied(error.message) from error
    except ServiceError as error:
        return _render_team(request, row_errors={member.pk: error.message}, status=error.status_code)
    messages.success(request, f"{member.user.email} is now {member.get_role_display().lower()}.")
    return redirect("team")


@require_http_methods(["GET", "POST"])
@membership_required(MANAGE_TEAM)
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    member = selectors.member_get(organization=request.organization, membership_id=membership_id)
    if not _can_edit(request.membership, member):
        raise PermissionDenied("Only an owner can remove an owner.")
    context = {"member": member, "is_self": member.user_id == request.user.pk}
    if request.method == "GET":
        return render(request, "accounts/member_remove.html", context)
    try:
        services.membership_remove(actor=request.membership, membership=member)
    except ServiceError as error:
        return render(request, "accounts/member_remove.html", {**context, "error": error.message}, status=409)
    messages.success(request, f"{member.user.email} was removed from {request.organization.name}.")
    return redirect("dashboard" if context["is_self"] else "team")


# --- Invitations (the emailed link) ------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = selectors.invitation_get_by_token(token=token)
    if invitation is None:
        return render(request, "accounts/invitation_invalid.html", status=404)
    if request.method == "GET" or not request.user.is_authenticated:
        return _render_invitation(request, invitation)
    try:
        membership = services.invitation_accept(token=token, user=request.user)
    except NotFound:
        return render(request, "accounts/invitation_invalid.html", status=404)
    except ServiceError as error:
        return _render_invitation(request, invitation, error=error.message, status=error.status_code)
    tenancy.activate(request, organization_id=membership.organization_id)
    messages.success(request, f"Welcome to {membership.organization.name}. You joined as {membership.role}.")
    return redirect("dashboard")


def _render_invitation(request, invitation, *, error: str | None = None, status: int = 200) -> HttpResponse:
    user = request.user
    context = {
        "invitation": invitation,
        "error": error,
        "email_matches": user.is_authenticated and user.email.lower() == invitation.email.lower(),
        "next": request.path,
    }
    return render(request, "accounts/invitation_accept.html", context, status=status)


# --- Developers: API keys ------------------------------------------------------------


def _render_developers(request, *, form=None, new_key=None, new_secret=None, status: int = 200) -> HttpResponse:
    context = {
        "keys": selectors.api_key_list(organization=request.organization).select_related("created_by"),
        "can_manage": request.membership.can_manage,
        "form": form or forms.ApiKeyForm(),
        "new_key": new_key,
        "new_secret": new_secret,
        "read_only_scopes": scopes.READ_ONLY,
    }
    response = render(request, "accounts/developers.html", context, status=status)
    if new_secret:
        response["Cache-Control"] = "no-store"
    return response


@require_GET
@membership_required()
def developers(request: HttpRequest) -> HttpResponse:
    return _render_developers(request)


@never_cache
@require_POST
@membership_required(MANAGE_KEYS)
def api_key_create(request: HttpRequest) -> HttpResponse:
    form = forms.ApiKeyForm(request.POST)
    if not form.is_valid():
        return _render_developers(request, form=form, status=400)
    key, secret = services.api_key_create(
        organization=request.organization,
        name=form.cleaned_data["name"],
        created_by=request.user,
        scopes=form.cleaned_data["scopes"],
    )
    # Rendered, not redirected: the secret must never pass through the session or a URL.
    return _render_developers(request, new_key=key, new_secret=secret, status=201)


@require_http_methods(["GET", "POST"])
@membership_required(MANAGE_KEYS)
def api_key_revoke(request: HttpRequest, api_key_id: int) -> HttpResponse:
    key = selectors.api_key_get(organization=request.organization, api_key_id=api_key_id)
    if request.method == "GET":
        return render(request, "accounts/api_key_revoke.html", {"key": key})
    services.api_key_revoke(api_key=key)
    messages.success(request, f"The key “{key.name}” is revoked. Requests with it now answer 401.")
    return redirect("developers")
