"""Every read of partner webhooks, always through one organization."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Organization
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint


def webhook_endpoint_list(*, organization: Organization) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(organization=organization).order_by("-created_at", "pk")


def webhook_endpoint_get(*, organization: Organization, endpoint_id) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint, organization=organization, pk=endpoint_id)


def webhook_delivery_list(
    *, organization: Organization, endpoint_id=None, status: str | None = None, event_type: str | None = None
) -> QuerySet[WebhookDelivery]:
    deliveries = WebhookDelivery.objects.filter(organization=organization)
    if endpoint_id is not None:
        deliveries = deliveries.filter(endpoint_id=endpoint_id)
    if status:
        deliveries = deliveries.filter(status=status)
    if event_type:
        deliveries = deliveries.filter(event_type=event_type)
    return deliveries.order_by("-created_at", "-pk")


def webhook_delivery_get(*, organization: Organization, delivery_id) -> WebhookDelivery:
    return get_object_or_404(
        WebhookDelivery.objects.select_related("endpoint"), organization=organization, pk=delivery_id
    )


def delivery_failures_overview(*, since) -> dict:
    """Across tenants, for operators: failing deliveries and disabled endpoints."""
    return {
        "failed_since": WebhookDelivery.objects.filter(status=DeliveryStatus.FAILED, created_at__gte=since).count(),
        "retrying": WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, attempts__gt=0).count(),
        "disabled_endpoints": WebhookEndpoint.objects.filter(enabled=False).count(),
    }
