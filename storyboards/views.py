"""Browser pages of storyboards: the editor (live total price), the list, progress and the film, retry a shot."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts import services as accounts_services
from seedance_saas.errors import InvalidInput, PaymentRequired, ServiceError
from storyboards import forms, selectors, services

LIVE_POLL_S = 2


def _quote(organization, data):
    try:
        return services.storyboard_quote(
            organization=organization, resolution=data.get("resolution"), durations=forms.durations(data)
        )
    except InvalidInput:
        return None


@login_required
def storyboard_create(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    if organization is None:
        return redirect("dashboard")
    options = forms.StoryboardOptionsForm(request.POST or None)
    rows = forms.rows_from(request.POST) if request.method == "POST" else forms.default_rows()
    status = 200
    if request.method == "POST" and options.is_valid():
        try:
            storyboard = services.storyboard_create(
                organization=organization,
                end_user=accounts_services.end_user_for_user(organization=organization, user=request.user),
                shots=forms.shot_inputs(request.POST, request.FILES),
                resolution=options.cleaned_data["resolution"],
                aspect_ratio=options.cleaned_data["aspect_ratio"],
                generate_audio=options.cleaned_data["generate_audio"],
                title=options.cleaned_data["title"],
                created_by=request.user,
            )
        except InvalidInput as error:
            status = 400
            for field, problems in (error.fields or {}).items():
                if field.startswith("shots[") and "]" in field:
                    number = int(field[6 : field.index("]")])
                    if 1 <= number <= len(rows):
                        rows[number - 1].errors = (rows[number - 1].errors or []) + problems
                        continue
                options.add_error(None, f"{problems[0]}")
        except PaymentRequired as refusal:
            options.add_error(None, refusal.message)
            status = 402
        else:
            messages.success(request, "Your storyboard is running. This page updates by itself.")
            return redirect("storyboard_detail", storyboard_id=storyboard.pk)
    elif request.method == "POST":
        status = 400
    if request.method == "POST":
        data = request.POST
    else:
        data = {"resolution": options["resolution"].value(), "shot_count": str(len(rows))}
        data.update({f"shot_{row.number}_duration": row.duration for row in rows})
    context = {
        "form": options,
        "rows": rows,
        "durations": forms.DURATION_CHOICES,
        "quote": _quote(organization, data),
        "max_shots": forms.MAX_SHOTS,
    }
    return render(request, "storyboards/editor.html", context, status=status)


@login_required
@require_GET
def storyboard_quote(request: HttpRequest) -> HttpResponse:
    """The live total under the editor (htmx): the sum of billing's quote for each shot."""
    if request.organization is None:
        return HttpResponse(status=204)
    return render(request, "storyboards/_total.html", {"quote": _quote(request.organization, request.GET)})


@login_required
def storyboard_list(request: HttpRequest) -> HttpResponse:
    if request.organization is None:
        return redirect("dashboard")
    storyboards = selectors.storyboard_list(organization=request.organization)[:100]
    return render(request, "storyboards/list.html", {"storyboards": storyboards})


@login_required
def storyboard_detail(request: HttpRequest, storyboard_id) -> HttpResponse:
    if request.organization is None:
        return redirect("dashboard")
    storyboard = selectors.storyboard_get(organization=request.organization, storyboard_id=storyboard_id)
    shots = selectors.storyboard_shots(storyboard=storyboard)
    charged = sum((s.generation.cost for s in shots if s.generation is not None and s.generation.cost), Decimal(0))
    context = {"storyboard": storyboard, "shots": shots, "poll_s": LIVE_POLL_S, "charged": charged}
    template = "storyboards/_progress.html" if request.htmx else "storyboards/detail.html"
    return render(request, template, context)


@login_required
@require_POST
def storyboard_shot_retry(request: HttpRequest, storyboard_id, position: int) -> HttpResponse:
    storyboard = selectors.storyboard_get(organization=request.organization, storyboard_id=storyboard_id)
    try:
        services.storyboard_shot_retry(storyboard=storyboard, position=position)
        messages.success(request, f"Retrying shot {position}; the shots after it resume when it succeeds.")
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect("storyboard_detail", storyboard_id=storyboard.pk)
