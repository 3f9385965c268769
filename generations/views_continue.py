"""Browser page "Continue": a new clip from the last frame of a succeeded one."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts import services as accounts_services
from billing import services as billing_services
from generations import catalog, continuation, selectors
from seedance_saas.errors import InvalidInput, PaymentRequired, ServiceError


class ContinueForm(forms.Form):
    prompt = forms.CharField(
        label="Prompt",
        max_length=catalog.MAX_PROMPT_CHARS,
        required=False,
        help_text="What happens next, starting from the last frame of this video.",
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    resolution = forms.ChoiceField(label="Resolution")
    duration = forms.ChoiceField(
        label="Duration",
        choices=[(catalog.AUTO, "Auto (4–15 s)")] + [(d, f"{d} seconds") for d in catalog.DURATIONS[1:]],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resolution"].choices = [(r, r) for r in catalog.allowed_resolutions()]


@login_required
def generation_continue(request: HttpRequest, generation_id) -> HttpResponse:
    organization = request.organization
    if organization is None:
        return redirect("dashboard")
    source = selectors.generation_get(organization=organization, generation_id=generation_id)
    initial = {"prompt": source.prompt, "resolution": source.resolution, "duration": source.duration}
    form = ContinueForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            generation = continuation.generation_continue(
                organization=organization,
                end_user=accounts_services.end_user_for_user(organization=organization, user=request.user),
                source=source,
                prompt=form.cleaned_data["prompt"],
                duration=form.cleaned_data["duration"],
                resolution=form.cleaned_data["resolution"],
                created_by=request.user,
            )
        except InvalidInput as error:
            for field, problems in (error.fields or {}).items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
            status = 400
        except PaymentRequired as refusal:
            form.add_error(None, refusal.message)
            status = 402
        except ServiceError as error:
            form.add_error(None, error.message)
            status = 409
        else:
            messages.success(request, "The continuation is queued. This page updates by itself.")
            return redirect("generation_detail", generation_id=generation.pk)
    elif request.method == "POST":
        status = 400
    try:
        quote = billing_services.quote(
            organization=organization, resolution=form["resolution"].value(), duration=form["duration"].value()
        )
    except InvalidInput:
        quote = None
    context = {"form": form, "source": source, "quote": quote}
    return render(request, "generations/continue.html", context, status=status)
