"""Thin django-q2 entry points for billing; each takes ids and calls one service."""

from __future__ import annotations

from billing.stripe import adjustments, customers, metering, subscriptions, thin_events, webhooks


def usage_record_report(usage_record_id: str) -> str:
    return metering.usage_record_report(usage_record_id=usage_record_id)


def usage_report_drain() -> int:
    sent = metering.usage_report_drain()
    adjustments.refunds_settle_pending()
    return sent


def usage_refund_settle(refund_id: str) -> str:
    return adjustments.usage_refund_settle(refund_id=refund_id)


def stripe_customer_create(organization_id: int) -> str:
    return customers.stripe_customer_create(organization_id=organization_id)


def stripe_event_process(event_id: str) -> str:
    return webhooks.stripe_event_process(event_id=event_id)


def subscription_items_sync(organization_id: int) -> list[str]:
    return subscriptions.subscription_items_sync_or_report(organization_id=organization_id)


def stripe_thin_event_process(event_id: str) -> str:
    return thin_events.stripe_thin_event_process(event_id=event_id)
