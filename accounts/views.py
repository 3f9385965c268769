"""Browser views of accounts: the dashboard shell and the organization switcher."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import tenancy


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "landing.html")


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
