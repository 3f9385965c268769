"""The owner's page for the organization's own Eachlabs key, and the banner that says why jobs wait."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Role
from accounts.views import membership_required
from generations import provider_key_selectors, selectors
from generations.services import own_provider_keys
from seedance_saas.errors import ServiceError

OWNERS_ONLY = "Only owners of {org} can attach or remove the organization's Eachlabs key."


class OwnProviderKeyForm(forms.Form):
    secret = forms.CharField(
        label="Eachlabs API key",
        max_length=500,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="From your Eachlabs account. We check it with Eachlabs, store it encrypted and never show it again.",
    )


def _require_owner(request: HttpRequest) -> None:
    if request.membership.role != Role.OWNER:
        raise PermissionDenied(OWNERS_ONLY.format(org=request.organization.name))


def _render(request: HttpRequest, *, form: OwnProviderKeyForm | None = None, status: int = 200) -> HttpResponse:
    key = provider_key_selectors.own_provider_key(organization=request.organization)
    context = {
        "key": key if key is not None and key.enabled else None,
        "key_state": selectors.provider_key_pause(key=key, now=timezone.now()) if key is not None else "",
        "form": form or OwnProviderKeyForm(),
        "is_owner": request.membership.role == Role.OWNER,
    }
    return render(request, "generations/provider_key.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
@membership_required()
def own_provider_key(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _render(request)
    _require_owner(request)
    form = OwnProviderKeyForm(request.POST)
    if not form.is_valid():
        return _render(request, form=form, status=400)
    try:
        own_provider_keys.own_provider_key_attach(organization=request.organization, secret=form.cleaned_data["secret"])
    except ServiceError as error:
        form.add_error("secret", error.message)
        return _render(request, form=form, status=error.status_code)
    messages.success(request, "Eachlabs accepted the key. Your organization's videos now run on it.")
    return redirect("own_provider_key")


@require_POST
@membership_required()
def own_provider_key_remove(request: HttpRequest) -> HttpResponse:
    _require_owner(request)
    own_provider_keys.own_provider_key_detach(organization=request.organization)
    messages.success(request, "The key is removed. Your videos run on our shared capacity again.")
    return redirect("own_provider_key")


def provider_key_banner(request: HttpRequest) -> dict:
    """Context processor: on every browser page of an organization whose jobs cannot start, say why."""
    organization = getattr(request, "organization", None)
    if organization is None:
        return {}
    return {"provider_key_problem": provider_key_selectors.key_problem_for(organization=organization)}
