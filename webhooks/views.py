"""Browser pages for webhook endpoints and the delivery log (Developers ▸ Webhooks), with replay."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.views import membership_required
from seedance_saas.errors import ServiceError
from webhooks import selectors, services
from webhooks.forms import WebhookEndpointForm
from webhooks.rotation import DEFAULT_OVERLAP_HOURS, OVERLAP_CHOICES

MANAGE = "Only owners and admins of {org} can change webhooks. Ask one of them to do it."
RECENT_DELIVERIES = 50


def _render(request: HttpRequest, *, form=None, status: int = 200) -> HttpResponse:
    organization = request.organization
    context = {
        "endpoints": selectors.webhook_endpoint_list(organization=organization),
        "deliveries": selectors.webhook_delivery_list(organization=organization).select_related("endpoint")[
            :RECENT_DELIVERIES
        ],
        "form": form or WebhookEndpointForm(),
        "can_manage": request.membership.can_manage,
        "overlap_choices": OVERLAP_CHOICES,
        "default_overlap_hours": DEFAULT_OVERLAP_HOURS,
    }
    return render(request, "webhooks/webhooks.html", context, status=status)


@require_GET
@membership_required()
def webhooks_page(request: HttpRequest) -> HttpResponse:
    return _render(request)


@require_GET
@membership_required()
def delivery_detail(request: HttpRequest, delivery_id) -> HttpResponse:
    delivery = selectors.webhook_delivery_get(organization=request.organization, delivery_id=delivery_id)
    context = {
        "delivery": delivery,
        "payload_json": json.dumps(delivery.payload, indent=2, sort_keys=True),
        "can_manage": request.membership.can_manage,
    }
    return render(request, "webhooks/delivery.html", context)


@require_POST
@membership_required(MANAGE)
def endpoint_create(request: HttpRequest) -> HttpResponse:
    form = WebhookEndpointForm(request.POST)
    if form.is_valid():
        try:
            services.webhook_endpoint_create(organization=request.organization, **form.cleaned_data)
        except ServiceError as error:
            for field, problems in (error.fields or {"__all__": [error.message]}).items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        else:
            messages.success(request, "Endpoint added. Copy its signing secret from the list below.")
            return redirect("webhooks")
    return _render(request, form=form, status=400)


@require_POST
@membership_required(MANAGE)
def endpoint_action(request: HttpRequest, endpoint_id, action: str) -> HttpResponse:
    if action not in ("enable", "disable", "rotate", "delete"):
        raise Http404("Unknown action.")
    endpoint = selectors.webhook_endpoint_get(organization=request.organization, endpoint_id=endpoint_id)
    if action == "enable":
        services.webhook_endpoint_update(endpoint=endpoint, enabled=True)
        messages.success(request, f"{endpoint.url} is enabled again.")
    elif action == "disable":
        services.webhook_endpoint_update(endpoint=endpoint, enabled=False)
        messages.success(request, f"{endpoint.url} is disabled; no events are sent to it.")
    elif action == "rotate":
        try:
            endpoint = services.webhook_endpoint_rotate_secret(
                endpoint=endpoint, overlap_hours=request.POST.get("overlap_hours", DEFAULT_OVERLAP_HOURS)
            )
        except ServiceError as error:
            messages.error(request, error.message)
            return redirect("webhooks")
        if endpoint.previous_secret_expires_at:
            until = endpoint.previous_secret_expires_at.strftime("%Y-%m-%d %H:%M UTC")
            messages.success(request, f"New signing secret for {endpoint.url}; the old one also signs until {until}.")
        else:
            messages.success(request, f"New signing secret for {endpoint.url}; the old one no longer signs.")
    elif action == "delete":
        services.webhook_endpoint_delete(endpoint=endpoint)
        messages.success(request, f"{endpoint.url} was deleted.")
    return redirect("webhooks")


@require_POST
@membership_required(MANAGE)
def delivery_replay(request: HttpRequest, delivery_id) -> HttpResponse:
    delivery = selectors.webhook_delivery_get(organization=request.organization, delivery_id=delivery_id)
    try:
        services.delivery_replay(delivery=delivery)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Replaying {delivery.event_type} to {delivery.endpoint.url}.")
    return redirect("webhooks")
