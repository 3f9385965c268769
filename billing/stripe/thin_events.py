"""Stripe's thin (v2) events: `v1.billing.meter.error_report_triggered`, Stripe rejecting meter events it had
accepted (an unknown customer, a bad value...). The records it names are marked `rejected` and flagged.

A thin event carries no data: after verifying its signature (its own destination and secret,
STRIPE_THIN_WEBHOOK_SECRET) we record it and answer; a task fetches the full event from /v2/core/events/<id>
(outside any transaction) and applies it once.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing import stripe_gateway
from billing.models import ReportState, StripeEvent, UsageKind, UsageRecord
from billing.queue import enqueue
from billing.stripe.common import stripe_client
from billing.stripe.webhooks import WEBHOOK_TOLERANCE_S, BadWebhook

log = logging.getLogger(__name__)

METER_ERROR_REPORT = "v1.billing.meter.error_report_triggered"
IDEMPOTENCY_PREFIX = "meter-event-"


def stripe_thin_event_receive(*, payload: bytes, signature: str | None) -> StripeEvent:
    """Verify a thin event notification, record it once and queue its processing."""
    secret = settings.STRIPE_THIN_WEBHOOK_SECRET
    if not secret or not stripe_gateway.configured():
        raise BadWebhook("STRIPE_THIN_WEBHOOK_SECRET (and STRIPE_API_KEY) must be set to accept Stripe's thin events.")
    try:
        notification = stripe_client().parse_event_notification(
            payload, signature or "", secret, tolerance=WEBHOOK_TOLERANCE_S
        )
        body = json.loads(payload)
        created = int(datetime.fromisoformat(notification.created.replace("Z", "+00:00")).timestamp())
    except stripe.SignatureVerificationError as exc:
        raise BadWebhook(f"Stripe signature check failed: {exc.user_message or exc}") from exc
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BadWebhook("The webhook body is not a Stripe thin event.", code="bad_payload") from exc
    with transaction.atomic():
        event, _ = StripeEvent.objects.get_or_create(
            event_id=notification.id, defaults={"type": notification.type, "created": created, "payload": body}
        )
        if event.processed_at is None:
            transaction.on_commit(lambda: enqueue("billing.tasks.stripe_thin_event_process", event.event_id))
    return event


def stripe_thin_event_process(*, event_id: str) -> str:
    """Fetch a recorded thin event's data from Stripe, then apply it, once."""
    event = StripeEvent.objects.get(event_id=event_id)
    if event.processed_at is not None:
        return "already processed"
    data = None
    if event.type == METER_ERROR_REPORT:
        full = stripe_gateway.call(lambda: stripe_client().v2.core.events.retrieve(event_id))
        data = full.to_dict().get("data") or {}
    with transaction.atomic():
        event = StripeEvent.objects.select_for_update().get(event_id=event_id)
        if event.processed_at is not None:
            return "already processed"
        result = _meter_errors_apply(data) if data is not None else "ignored"
        event.payload = {**event.payload, "data": data} if data is not None else event.payload
        event.processed_at = timezone.now()
        event.result = result[:200]
        event.save(update_fields=["payload", "processed_at", "result"])
    return result


def _record_id(identifier: str) -> uuid.UUID | None:
    """Our meter events' identifier is the record id; the idempotency key is `meter-event-<id>`. Either names it."""
    try:
        return uuid.UUID(identifier.removeprefix(IDEMPOTENCY_PREFIX))
    except (AttributeError, ValueError):
        return None


def _meter_errors_apply(data: dict) -> str:
    now = timezone.now()
    rejected = 0
    for error_type in (data.get("reason") or {}).get("error_types") or []:
        code = error_type.get("code", "")
        for sample in error_type.get("sample_errors") or []:
            record_id = _record_id((sample.get("request") or {}).get("identifier", ""))
            if record_id is None:
                continue
            rejected += (
                UsageRecord.objects.filter(pk=record_id, kind=UsageKind.USAGE)
                .filter(report_state__in=(ReportState.REPORTED, ReportState.PENDING))
                .update(
                    report_state=ReportState.REJECTED,
                    flagged_at=now,
                    next_report_at=None,
                    last_report_error=(
                        f"Stripe rejected the meter event after accepting it ({code}): "
                        f"{sample.get('error_message', '')} Fix the cause in Stripe, then bill it by hand."
                    )[:1000],
                )
            )
    total = (data.get("reason") or {}).get("error_count", rejected)
    log.warning("Stripe meter error report: %s error(s), %s usage record(s) marked rejected", total, rejected)
    return f"{rejected} usage record(s) rejected ({total} error(s) reported)"
