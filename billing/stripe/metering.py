"""Meter-event reporting: every usage record reaches Stripe once, whatever fails on the way."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import stripe
from django.conf import settings
from django.db import connections
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing import stripe_gateway
from billing.models import ReportState, UsageRecord
from billing.stripe.common import meter_event_name, stripe_client
from billing.stripe.customers import stripe_customer_create
from seedance_saas.errors import InvalidInput

log = logging.getLogger(__name__)

# Stripe accepts meter events up to 35 days old; flag records well before that so an operator can act.
STRIPE_WINDOW = timedelta(days=35)
WINDOW_WARNING = timedelta(days=30)
# Longer than a whole send (tries x timeout + backoff), so a live claim is never taken over.
CLAIM_TTL = timedelta(minutes=3)
MAX_BACKOFF = timedelta(hours=1)
# Stripe recognises a meter event's identifier again for at least 24 h; keep an hour's margin.
IDENTIFIER_MEMORY = timedelta(hours=23)


def _claim(*, usage_record_id) -> UsageRecord | None:
    """Take a pending, due record for one send; None when it is not ours to send now."""
    now = timezone.now()
    claimed = (
        UsageRecord.objects.filter(pk=usage_record_id, report_state=ReportState.PENDING)
        .filter(Q(next_report_at__isnull=True) | Q(next_report_at__lte=now))
        .update(report_attempts=F("report_attempts") + 1, next_report_at=now + CLAIM_TTL)
    )
    if not claimed:
        return None
    return UsageRecord.objects.select_related("organization__billing_account").get(pk=usage_record_id)


def _mark(record: UsageRecord, **fields) -> None:
    UsageRecord.objects.filter(pk=record.pk).update(**fields)


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def usage_record_report(*, usage_record_id) -> str:
    """Send one usage record to Stripe as a meter event, exactly once. Returns what happened."""
    if not stripe_gateway.configured():
        return "ledger-only"
    record = _claim(usage_record_id=usage_record_id)
    if record is None:
        return "skipped"
    now = timezone.now()
    if record.completed_at < now - STRIPE_WINDOW:
        _mark(
            record,
            report_state=ReportState.FAILED,
            flagged_at=now,
            next_report_at=None,
            last_report_error="Older than Stripe's 35-day meter-event window: bill it by hand (invoice item).",
        )
        return "expired"
    if record.report_uncertain_since and record.report_uncertain_since < now - IDENTIFIER_MEMORY:
        _mark(
            record,
            report_state=ReportState.FAILED,
            flagged_at=now,
            next_report_at=None,
            last_report_error=(
                f"Sends since {record.report_uncertain_since:%Y-%m-%d %H:%M} UTC ended without an answer, and Stripe "
                "only recognises a repeated identifier for 24 h: a resend now could bill twice. Look for the event "
                f"(identifier {record.stripe_identifier}) in Stripe; if it is not there, send it again."
            ),
        )
        return "uncertain"
    try:
        customer_id = record.organization.billing_account.stripe_customer_id or stripe_customer_create(
            organization_id=record.organization_id
        )
        stripe_gateway.call(lambda: _send_meter_event(record=record, customer_id=customer_id))
    except stripe.StripeError as exc:
        return _report_failed(record, exc)
    _mark(record, report_state=ReportState.REPORTED, reported_at=now, next_report_at=None, last_report_error="")
    return "reported"


def _send_meter_event(*, record: UsageRecord, customer_id: str) -> None:
    try:
        stripe_client().v1.billing.meter_events.create(
            {
                "event_name": meter_event_name(record.resolution),
                "payload": {"stripe_customer_id": customer_id, "value": str(record.seconds)},
                "identifier": record.stripe_identifier,
                "timestamp": int(record.completed_at.timestamp()),
            },
            {"idempotency_key": f"meter-event-{record.pk}"},
        )
    except stripe.InvalidRequestError as exc:
        # An earlier send was accepted but never marked (a lost answer, a killed worker): delivered.
        if not stripe_gateway.is_duplicate_identifier(exc):
            raise
        log.info("Stripe already had meter event %s; counting it as delivered", record.pk)


def _report_failed(record: UsageRecord, exc: stripe.StripeError) -> str:
    error = stripe_gateway.describe(exc)
    if stripe_gateway.is_retryable(exc):
        # Stripe may have taken it (a timeout, a lost answer): remember since when we are unsure.
        _mark(
            record,
            next_report_at=timezone.now() + _backoff(record.report_attempts),
            last_report_error=error,
            report_uncertain_since=Coalesce(F("report_uncertain_since"), Value(timezone.now())),
        )
        log.warning("Stripe report of %s will be retried: %s", record.pk, error)
        return "retry"
    _mark(
        record, report_state=ReportState.FAILED, flagged_at=timezone.now(), next_report_at=None, last_report_error=error
    )
    log.error("Stripe refused usage record %s: %s", record.pk, error)
    return "failed"


def usage_report_drain(*, batch_size: int = 500, time_budget_s: float = 240.0, workers: int | None = None) -> int:
    """Send every pending usage record that is due (the schedule runs this every minute). Returns how many were sent."""
    if not stripe_gateway.configured():
        return 0
    started = timezone.now()
    usage_flag_near_window(now=started)
    reported = 0
    while (timezone.now() - started).total_seconds() < time_budget_s:
        now = timezone.now()
        ids = list(
            UsageRecord.objects.filter(report_state=ReportState.PENDING)
            .filter(Q(next_report_at__isnull=True) | Q(next_report_at__lte=now))
            .order_by("completed_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            break
        reported += _report_many(ids, workers=workers or settings.STRIPE_DRAIN_WORKERS).count("reported")
    return reported


def _report_many(ids: list, *, workers: int) -> list[str]:
    """Report records on `workers` threads (Stripe answers in ~100 ms; one at a time would crawl through a backlog)."""
    if workers <= 1 or len(ids) <= 1:
        return [usage_record_report(usage_record_id=pk) for pk in ids]

    def report_chunk(chunk: list) -> list[str]:
        try:
            return [usage_record_report(usage_record_id=pk) for pk in chunk]
        finally:
            connections.close_all()  # this thread's connections only

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stripe-drain") as pool:
        chunks = pool.map(report_chunk, [ids[i::workers] for i in range(workers)])
        return [outcome for chunk in chunks for outcome in chunk]


def usage_flag_near_window(*, now: datetime) -> int:
    """Flag unreported usage that nears Stripe's 35-day window, so an operator acts before it is too late."""
    return (
        UsageRecord.objects.filter(report_state=ReportState.PENDING, flagged_at__isnull=True)
        .filter(completed_at__lt=now - WINDOW_WARNING)
        .update(flagged_at=now)
    )


def usage_record_report_retry(*, usage_record: UsageRecord) -> UsageRecord:
    """An operator sends a failed record again (after fixing the cause in Stripe)."""
    if usage_record.report_state != ReportState.FAILED:
        raise InvalidInput("Only a failed report can be retried.")
    # The operator checked Stripe: the record starts afresh.
    _mark(usage_record, report_state=ReportState.PENDING, next_report_at=None, report_uncertain_since=None)
    usage_record.refresh_from_db()
    return usage_record
