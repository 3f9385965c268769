"""Thin django-q2 entry points for billing; each takes ids and calls one service."""

from __future__ import annotations

from django_q.tasks import async_task

from billing import stripe_services


def enqueue(func: str, *args) -> None:
    """Queue a billing task (inline under pytest). Call it from transaction.on_commit, never inside a transaction."""
    async_task(func, *args, group="billing")


def usage_record_report(usage_record_id: str) -> str:
    return stripe_services.usage_record_report(usage_record_id=usage_record_id)


def usage_report_drain() -> int:
    return stripe_services.usage_report_drain()


def stripe_customer_create(organization_id: int) -> str:
    return stripe_services.stripe_customer_create(organization_id=organization_id)


def stripe_event_process(event_id: str) -> str:
    return stripe_services.stripe_event_process(event_id=event_id)
