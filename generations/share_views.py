"""Share links in the browser: the owner makes and revokes them; anyone with the token sees the public page."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from generations import selectors, services, sharing
from seedance_saas.errors import ServiceError
from seedance_saas.media import media_headers, serve_stored_file

# Browser choices of expiry, in days ("" = never).
EXPIRY_DAYS = {"": None, "1": 1, "7": 7, "30": 30}
# A presigned S3 URL behind a share link lives this long: enough to start and seek, not to pass around.
SHARE_S3_URL_TTL_S = 300
ROBOTS = "noindex, nofollow, noarchive"


def _public(response: HttpResponse) -> HttpResponse:
    """Every answer under /s/: not indexed, not cached anywhere (revocation takes effect at once), no referrer."""
    response["X-Robots-Tag"] = ROBOTS
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _gone(request: HttpRequest) -> HttpResponse:
    return _public(render(request, "generations/share_gone.html", status=404))


@require_GET
def share_page(request: HttpRequest, token: str) -> HttpResponse:
    resolved = sharing.share_link_resolve(token=token)
    if resolved is None:
        return _gone(request)
    link, shared = resolved
    base = f"{settings.SITE_URL}{reverse('share_page', kwargs={'token': token})}"
    context = {
        "title": "Shared video" if link.hide_prompt else shared.title,
        "prompt": "" if link.hide_prompt else shared.prompt,
        "page_url": base,
        "video_url": base + "video.mp4",
        "poster_url": base + "poster.webp" if shared.poster_name else "",
        "duration_seconds": shared.duration_seconds,
    }
    return _public(render(request, "generations/share_public.html", context))


@require_GET
def share_media(request: HttpRequest, token: str, what: str) -> HttpResponse:
    """The shared video or its poster, checked against the token on every request (Range supported)."""
    resolved = sharing.share_link_resolve(token=token)
    if resolved is None:
        return _gone(request)
    _, shared = resolved
    name = shared.video_name if what == "video.mp4" else shared.poster_name
    if not name:
        return _gone(request)
    if settings.AWS_STORAGE_BUCKET_NAME:
        headers = media_headers(name)
        url = default_storage.url(
            name, parameters={"ResponseContentType": headers["Content-Type"]}, expire=SHARE_S3_URL_TTL_S
        )
        return _public(HttpResponseRedirect(url))
    response = serve_stored_file(request, storage=default_storage, name=name, cache_s=0)
    response["X-Robots-Tag"] = ROBOTS
    response["Referrer-Policy"] = "no-referrer"
    return response


def detail_context(request: HttpRequest, generation) -> dict:
    """What the detail page's share section needs (the detail view adds it to its own context)."""
    return {
        "share_links": list(sharing.share_link_list(organization=request.organization, target_id=generation.pk)),
        "expiry_choices": [("", "Never"), ("1", "1 day"), ("7", "7 days"), ("30", "30 days")],
        "now": timezone.now(),
    }


@login_required
@require_POST
def share_create(request: HttpRequest, generation_id) -> HttpResponse:
    organization = request.organization
    generation = selectors.generation_get(organization=organization, generation_id=generation_id)
    days = EXPIRY_DAYS.get(request.POST.get("expires_in", ""))
    try:
        _, token = sharing.share_link_create(
            organization=organization,
            target_id=generation.pk,
            hide_prompt=request.POST.get("hide_prompt") == "on",
            expires_at=timezone.now() + timedelta(days=days) if days else None,
            created_by=request.user,
        )
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("generation_detail", generation_id=generation.pk)
    # The token is shown on this answer only: we keep its hash, so it cannot be shown again.
    context = {
        "generation": generation,
        "events": selectors.generation_events(organization=organization, generation=generation),
        "progress": services.generation_progress(generation=generation),
        "new_share_url": f"{settings.SITE_URL}{reverse('share_page', kwargs={'token': token})}",
        **detail_context(request, generation),
    }
    response = render(request, "generations/detail.html", context, status=201)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def share_revoke(request: HttpRequest, share_link_id) -> HttpResponse:
    link = sharing.share_link_get(organization=request.organization, share_link_id=share_link_id)
    sharing.share_link_revoke(share_link=link)
    messages.success(request, "Share link revoked: it no longer opens.")
    if link.kind == "generation":
        return redirect("generation_detail", generation_id=link.target_id)
    return redirect("generation_list")
