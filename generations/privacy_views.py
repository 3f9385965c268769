"""Browser: a user deletes their own account (their videos in every organization are erased first)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts import forms as accounts_forms
from accounts.views import profile_render
from generations import privacy
from seedance_saas.errors import ServiceError


@login_required
@require_POST
def account_delete(request: HttpRequest) -> HttpResponse:
    form = accounts_forms.AccountDeleteForm(request.POST, user=request.user)
    if not form.is_valid():
        return profile_render(request, delete_form=form, status=400)
    try:
        privacy.user_account_delete(user=request.user)
    except ServiceError as refused:
        form.add_error(None, refused.message)
        return profile_render(request, delete_form=form, status=409)
    logout(request)
    messages.success(request, "Your account is deleted, and your prompts, frames and videos with it.")
    return redirect("/")
