"""Browser pages of generations (new video, list, detail) and the provider's webhook receiver."""

from __future__ import annotations

import time

import structlog
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts import services as accounts_services
from billing import services as billing_services
from generations import continuation, queue_estimates, selectors, services, share_views, variations
from generations.forms import GenerationForm
from generations.gallery import GalleryFilterForm
from generations.media_links import LinkRefused, link_check
from generations.models import IN_FLIGHT, Status
from seedance_saas.errors import InvalidInput, PaymentRequired, ServiceError
from seedance_saas.media import MEDIA_CSP, media_headers, serve_stored_file

# Live parts poll this often while something is still moving.
LIVE_POLL_S = 2


@csrf_exempt
@require_POST
def eachlabs_webhook(request: HttpRequest, secret: str) -> JsonResponse:
    # The body is never trusted: the refresh asks the provider for the real status.
    generation = services.generation_for_webhook(secret=secret)
    if generation is None:
        return JsonResponse({"error": {"code": "not_found", "message": "Unknown webhook."}}, status=404)
    structlog.contextvars.bind_contextvars(generation_id=str(generation.pk))
    services.webhook_received(generation=generation)
    return JsonResponse({"ok": True})


@require_GET
def media_file(request: HttpRequest, name: str) -> HttpResponse:
    """A stored frame or video, for whoever holds a valid, unexpired link whose grant still holds."""
    try:
        link_check(name=name, params=request.GET, user=request.user)
    except LinkRefused as refused:
        response = HttpResponse(refused.message, status=refused.status, content_type="text/plain; charset=utf-8")
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = MEDIA_CSP
        response["Cache-Control"] = "no-store"
        return response
    cache_s = max(0, min(int(request.GET["e"]) - int(time.time()), settings.MEDIA_URL_TTL_S))
    if settings.AWS_STORAGE_BUCKET_NAME:
        return _presigned_redirect(name)
    return serve_stored_file(request, storage=default_storage, name=name, cache_s=cache_s)


def _presigned_redirect(name: str) -> HttpResponse:
    # S3 answers with the content type and disposition we choose, not the one stored with the object.
    headers = media_headers(name)
    parameters = {"ResponseContentType": headers["Content-Type"]}
    if "Content-Disposition" in headers:
        parameters["ResponseContentDisposition"] = headers["Content-Disposition"]
    url = default_storage.url(name, parameters=parameters, expire=settings.AWS_QUERYSTRING_EXPIRE)
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store"
    return response


def _organization_or_redirect(request: HttpRequest):
    if request.organization is None:
        messages.error(request, "Join or create an organization first.")
    return request.organization


@login_required
def generation_create(request: HttpRequest) -> HttpResponse:
    organization = _organization_or_redirect(request)
    if organization is None:
        return redirect("dashboard")
    form = GenerationForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            generations = variations.generation_create_many(
                count=form.cleaned_data.get("variations") or 1,
                organization=organization,
                end_user=accounts_services.end_user_for_user(organization=organization, user=request.user),
                inputs=form.inputs,
                image=form.cleaned_data.get("image") or None,
                end_image=form.cleaned_data.get("end_image") or None,
                created_by=request.user,
            )
        except PaymentRequired as refusal:
            form.add_error(None, refusal.message)
            status = 402
        else:
            if len(generations) > 1:
                messages.success(request, f"{len(generations)} variations are queued. This page updates by itself.")
                return redirect("variation_group", group_id=generations[0].variation_group)
            messages.success(request, "Your video is queued. This page updates by itself.")
            return redirect("generation_detail", generation_id=generations[0].pk)
    elif request.method == "POST":
        status = 400
    quote = _quote(organization, form["resolution"].value(), form["duration"].value())
    count = variations.variations_count(form["variations"].value())
    context = {"form": form, "quote": quote, "group": variations.group_price(quote, count)}
    return render(request, "generations/create.html", context, status=status)


def _quote(organization, resolution, duration):
    try:
        return billing_services.quote(organization=organization, resolution=resolution, duration=duration)
    except InvalidInput:
        return None


@login_required
@require_GET
def generation_quote(request: HttpRequest) -> HttpResponse:
    """The live price under the form (htmx), recomputed as the options change."""
    if request.organization is None:
        return HttpResponse(status=204)
    quote = _quote(request.organization, request.GET.get("resolution"), request.GET.get("duration"))
    group = variations.group_price(quote, variations.variations_count(request.GET.get("variations")))
    return render(request, "generations/_quote.html", {"quote": quote, "group": group})


@login_required
def generation_list(request: HttpRequest) -> HttpResponse:
    organization = _organization_or_redirect(request)
    if organization is None:
        return redirect("dashboard")
    filters = GalleryFilterForm(request.GET or None)
    selected = filters.selector_filters() if request.GET else {}
    generations = list(selectors.generation_list(organization=organization, **selected)[:100])
    context = {
        "generations": generations,
        "filters": filters,
        "filtered": bool(selected),
        "status": selected.get("status"),
        "statuses": Status.choices,
        "live": any(generation.status in (Status.QUEUED, *IN_FLIGHT) for generation in generations),
        "poll_s": LIVE_POLL_S,
    }
    template = "generations/_rows.html" if request.htmx else "generations/list.html"
    return render(request, template, context)


@login_required
def generation_detail(request: HttpRequest, generation_id) -> HttpResponse:
    organization = _organization_or_redirect(request)
    if organization is None:
        return redirect("dashboard")
    generation = selectors.generation_get(organization=organization, generation_id=generation_id)
    context = {
        "generation": generation,
        "events": selectors.generation_events(organization=organization, generation=generation),
        "progress": services.generation_progress(generation=generation),
        "estimate": queue_estimates.generation_estimate(generation=generation),
        "poll_s": LIVE_POLL_S,
        **({} if request.htmx else share_views.detail_context(request, generation)),  # the panel has no links
        "chain": continuation.generation_chain(generation=generation),
    }
    template = "generations/_panel.html" if request.htmx else "generations/detail.html"
    return render(request, template, context)


@login_required
@require_POST
def generation_cancel(request: HttpRequest, generation_id) -> HttpResponse:
    generation = selectors.generation_get(organization=request.organization, generation_id=generation_id)
    try:
        services.generation_cancel(generation=generation, reason=f"canceled by {request.user.email}")
        messages.success(request, "Canceled. Nothing was charged.")
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect("generation_detail", generation_id=generation.pk)


@login_required
@require_POST
def generation_retry(request: HttpRequest, generation_id) -> HttpResponse:
    generation = selectors.generation_get(organization=request.organization, generation_id=generation_id)
    try:
        retried = services.generation_retry(generation=generation, created_by=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("generation_detail", generation_id=generation.pk)
    messages.success(request, "Retrying as a new generation.")
    return redirect("generation_detail", generation_id=retried.pk)


@login_required
def variation_group(request: HttpRequest, group_id) -> HttpResponse:
    """Variations side by side, live while any is still being made."""
    organization = _organization_or_redirect(request)
    if organization is None:
        return redirect("dashboard")
    generations = list(variations.variation_group_list(organization=organization, group_id=group_id))
    context = {
        "group_id": group_id,
        "generations": generations,
        "live": any(not generation.is_terminal for generation in generations),
        "poll_s": LIVE_POLL_S,
    }
    template = "generations/_variations.html" if request.htmx else "generations/variations.html"
    return render(request, template, context)
