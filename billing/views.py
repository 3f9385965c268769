"""Stripe's webhook receiver and the redirects to Stripe Checkout and the Billing Portal."""

import stripe
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing import stripe_gateway, stripe_services
from seedance_saas.errors import ServiceError, error_body

# The billing page is built in the browser issue under the URL name "billing".
BILLING_PAGE_FALLBACK = "/app/billing/"


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Verify, record, enqueue, answer: processing happens in a task, once per event id."""
    try:
        event = stripe_services.stripe_event_receive(
            payload=request.body, signature=request.headers.get("Stripe-Signature")
        )
    except ServiceError as exc:
        return JsonResponse(error_body(exc.code, exc.message), status=exc.status_code)
    return JsonResponse({"received": True, "id": event.event_id})


def _billing_page(request: HttpRequest) -> str:
    try:
        path = reverse("billing")
    except NoReverseMatch:
        path = BILLING_PAGE_FALLBACK
    return request.build_absolute_uri(path)


def _manager_only(request: HttpRequest) -> HttpResponse | None:
    membership = getattr(request, "membership", None)
    if membership is None or not membership.can_manage:
        return HttpResponseForbidden("Only owners and admins manage billing.")
    return None


@login_required
@require_POST
def checkout(request: HttpRequest) -> HttpResponse:
    refused = _manager_only(request)
    if refused:
        return refused
    back = _billing_page(request)
    try:
        url = stripe_services.checkout_session_create(
            organization=request.organization,
            success_url=f"{back}?checkout=success",
            cancel_url=f"{back}?checkout=canceled",
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    except stripe.StripeError as exc:
        messages.error(
            request, f"Stripe did not answer as expected; try again in a minute. ({stripe_gateway.describe(exc)})"
        )
        return redirect(back)
    return redirect(url)


@login_required
@require_POST
def portal(request: HttpRequest) -> HttpResponse:
    refused = _manager_only(request)
    if refused:
        return refused
    back = _billing_page(request)
    try:
        url = stripe_services.portal_session_create(organization=request.organization, return_url=back)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    except stripe.StripeError as exc:
        messages.error(
            request, f"Stripe did not answer as expected; try again in a minute. ({stripe_gateway.describe(exc)})"
        )
        return redirect(back)
    return redirect(url)
