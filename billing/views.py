"""Stripe's webhook receiver and the redirects to Stripe Checkout and the Billing Portal."""

import stripe
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.views import membership_required
from billing import selectors, services, stripe_gateway, usage_export
from billing.forms import SpendLimitForm, UsageExportForm
from billing.stripe import checkout as stripe_checkout
from billing.stripe import thin_events as stripe_thin_events
from billing.stripe import webhooks as stripe_webhooks
from seedance_saas.errors import ServiceError, error_body

BILLING_PAGE_FALLBACK = "/app/billing/"
MANAGE_BILLING = "Only owners and admins of {org} can subscribe or manage payment. Ask one of them to do it."
CHART_HEIGHT_PX = 120
CHART_BAR_STEP_PX = 28


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Verify, record, enqueue, answer: processing happens in a task, once per event id."""
    try:
        event = stripe_webhooks.stripe_event_receive(
            payload=request.body, signature=request.headers.get("Stripe-Signature")
        )
    except ServiceError as exc:
        return JsonResponse(error_body(exc.code, exc.message), status=exc.status_code)
    return JsonResponse({"received": True, "id": event.event_id})


@csrf_exempt
@require_POST
def stripe_thin_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's thin events (meter error reports): verify, record, enqueue, answer."""
    try:
        event = stripe_thin_events.stripe_thin_event_receive(
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


def _to_stripe(request: HttpRequest, make_session_url) -> HttpResponse:
    """Redirect to a Stripe-hosted page, or back to the billing page saying why not."""
    back = _billing_page(request)
    try:
        return redirect(make_session_url(back))
    except ServiceError as exc:
        messages.error(request, exc.message)
    except stripe.StripeError as exc:
        messages.error(
            request, f"Stripe did not answer as expected; try again in a minute. ({stripe_gateway.describe(exc)})"
        )
    return redirect(back)


@membership_required(MANAGE_BILLING)
@require_POST
def checkout(request: HttpRequest) -> HttpResponse:
    return _to_stripe(
        request,
        lambda back: stripe_checkout.checkout_session_create(
            organization=request.organization,
            success_url=f"{back}?checkout=success",
            cancel_url=f"{back}?checkout=canceled",
        ),
    )


@membership_required(MANAGE_BILLING)
@require_POST
def portal(request: HttpRequest) -> HttpResponse:
    return _to_stripe(
        request,
        lambda back: stripe_checkout.portal_session_create(organization=request.organization, return_url=back),
    )


@login_required
def billing_page(request: HttpRequest) -> HttpResponse:
    """Spend this month by resolution and by day, the limit, trial credit, Stripe checkout and portal."""
    organization = request.organization
    if organization is None:
        return redirect("dashboard")
    can_manage = bool(request.membership and request.membership.can_manage)
    form = SpendLimitForm(request.POST or None, initial=_limit_initial(organization))
    if request.method == "POST":
        if not can_manage:
            return HttpResponseForbidden("Only owners and admins change the spend limit.")
        if form.is_valid():
            services.billing_account_set_limit(
                organization=organization, monthly_spend_limit=form.cleaned_data["monthly_spend_limit"]
            )
            messages.success(request, "Spend limit saved.")
            return redirect("billing")
    summary = selectors.spend_summary(organization=organization)
    by_day = selectors.usage_summary(
        organization=organization, start=summary.period_start, end=summary.period_end, group_by="day"
    )
    context = {
        "summary": summary,
        "by_resolution": selectors.usage_summary(
            organization=organization, start=summary.period_start, end=summary.period_end, group_by="resolution"
        ),
        "chart": _bar_chart(by_day.groups),
        "chart_width": max(1, len(by_day.groups)) * CHART_BAR_STEP_PX,
        "limit_used_percent": _percent(summary.spent + summary.authorized, summary.limit),
        "records": selectors.usage_record_list(organization=organization)[:20],
        "invoice": selectors.invoice_preview(organization=organization, start=summary.period_start),
        "prices": selectors.price_list(organization=organization),
        "can_manage": can_manage,
        "form": form,
        "export_form": UsageExportForm(initial={"from": summary.period_start, "to": timezone.now().date()}),
    }
    return render(request, "billing/billing.html", context, status=400 if form.errors else 200)


@login_required
@require_GET
def usage_export_csv(request: HttpRequest) -> HttpResponse:
    """The ledger of the chosen UTC days as a streamed CSV download (what the API's usage/export.csv answers)."""
    organization = request.organization
    if organization is None:
        return redirect("dashboard")
    form = UsageExportForm(request.GET)
    if not form.is_valid():
        problems = [str(problem) for problems in form.errors.values() for problem in problems]
        messages.error(request, "Cannot export usage: " + " ".join(problems))
        return redirect("billing")
    return usage_export.usage_csv_response(
        organization=organization, start=form.cleaned_data["start"], end=form.cleaned_data["end"]
    )


def _limit_initial(organization) -> dict:
    return {"monthly_spend_limit": selectors.billing_account(organization=organization).monthly_spend_limit}


def _percent(used, limit) -> int | None:
    if limit is None:
        return None
    if limit <= 0:
        return 100
    return min(100, int(used * 100 / limit))


def _bar_chart(groups: list[dict]) -> list[dict]:
    """Bars for a server-drawn SVG chart: one per day with usage, scaled to the largest day."""
    largest = max((group["amount"] for group in groups), default=0) or 1
    bars = []
    for index, group in enumerate(groups):
        height = max(2, int(CHART_HEIGHT_PX * group["amount"] / largest))
        bars.append(
            {
                "day": group["key"],
                "amount": group["amount"],
                "seconds": group["seconds"],
                "height": height,
                "y": CHART_HEIGHT_PX + 10 - height,
                "x": index * CHART_BAR_STEP_PX,
            }
        )
    return bars
