"""Billing's writes that talk to Stripe: customers, meter-event reporting, checkout, portal, webhooks, sync, reconcile.

None of these runs inside a database transaction while Stripe is called, and no row lock is held across HTTP.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import stripe
from django.conf import settings
from django.db import connections, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from accounts.models import Organization
from billing import prices, stripe_gateway
from billing.models import BillingAccount, Plan, ReportState, Standing, StripeEvent, StripeMeter, UsageRecord
from billing.services import plan_default
from seedance_saas.errors import InvalidInput, ServiceError

log = logging.getLogger(__name__)

METER_EVENT_NAME = "seedance_seconds_{resolution}"
# Stripe accepts meter events up to 35 days old; flag records well before that so an operator can act.
STRIPE_WINDOW = timedelta(days=35)
WINDOW_WARNING = timedelta(days=30)
# Longer than a whole send (tries x timeout + backoff), so a live claim is never taken over.
CLAIM_TTL = timedelta(minutes=3)
MAX_BACKOFF = timedelta(hours=1)
WEBHOOK_TOLERANCE_S = 300


class StripeUnavailable(ServiceError):
    code = "stripe_unavailable"
    status_code = 503
    default_message = "Stripe is not configured on this installation (ledger-only billing)."


def meter_event_name(resolution: str) -> str:
    return METER_EVENT_NAME.format(resolution=resolution)


def _client() -> stripe.StripeClient:
    if not stripe_gateway.configured():
        raise StripeUnavailable()
    return stripe_gateway.client()


# --- customers -----------------------------------------------------------------------


def stripe_customer_create(*, organization_id: int) -> str:
    """The organization's Stripe Customer (metadata organization=<slug>), created once."""
    account = BillingAccount.objects.select_related("organization").get(organization_id=organization_id)
    if account.stripe_customer_id:
        return account.stripe_customer_id
    organization = account.organization
    customer = stripe_gateway.call(
        lambda: _client().v1.customers.create(
            {"name": organization.name, "metadata": {"organization": organization.slug}},
            # The slug too: a rebuilt database reusing a pk within Stripe's 24 h must not get another org's customer.
            {"idempotency_key": f"customer-{organization.pk}-{organization.slug}"},
        )
    )
    BillingAccount.objects.filter(pk=account.pk, stripe_customer_id="").update(stripe_customer_id=customer.id)
    account.refresh_from_db(fields=["stripe_customer_id"])
    return account.stripe_customer_id


# --- meter-event reporting ----------------------------------------------------------------


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
        _client().v1.billing.meter_events.create(
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
        _mark(
            record,
            next_report_at=timezone.now() + _backoff(record.report_attempts),
            last_report_error=error,
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
    _mark(usage_record, report_state=ReportState.PENDING, next_report_at=None)
    usage_record.refresh_from_db()
    return usage_record


# --- checkout and portal --------------------------------------------------------------------


def checkout_session_create(*, organization: Organization, success_url: str, cancel_url: str) -> str:
    """A Stripe Checkout Session (subscription mode, the plan's metered prices); returns its URL."""
    _client()  # ledger-only mode says so before anything else
    account = BillingAccount.objects.select_related("plan").get(organization=organization)
    price_ids = [account.plan.stripe_price_ids.get(resolution) for resolution in prices.RESOLUTIONS]
    if not all(price_ids):
        raise ServiceError("Stripe prices are not set up yet: run `python manage.py stripe_sync`.", code="not_synced")
    customer_id = stripe_customer_create(organization_id=organization.pk)
    session = stripe_gateway.call(
        lambda: _client().v1.checkout.sessions.create(
            {
                "mode": "subscription",
                "customer": customer_id,
                "client_reference_id": organization.slug,
                "line_items": [{"price": price_id} for price_id in price_ids],
                "success_url": success_url,
                "cancel_url": cancel_url,
                "metadata": {"organization": organization.slug},
                "subscription_data": {"metadata": {"organization": organization.slug}},
            }
        )
    )
    return session.url


def portal_session_create(*, organization: Organization, return_url: str) -> str:
    """A Billing Portal Session for cards and invoices; returns its URL."""
    customer_id = stripe_customer_create(organization_id=organization.pk)
    session = stripe_gateway.call(
        lambda: _client().v1.billing_portal.sessions.create({"customer": customer_id, "return_url": return_url})
    )
    return session.url


# --- webhooks ---------------------------------------------------------------------------------------

SUBSCRIPTION_STANDING = {
    "active": Standing.ACTIVE,
    "trialing": Standing.ACTIVE,
    "past_due": Standing.PAST_DUE,
    "unpaid": Standing.PAST_DUE,
    "canceled": Standing.CANCELED,
    "incomplete_expired": Standing.CANCELED,
}


class BadWebhook(ServiceError):
    code = "bad_signature"
    status_code = 400


def stripe_event_receive(*, payload: bytes, signature: str | None) -> StripeEvent:
    """Verify a webhook, record its event once and queue its processing. Bad or stale signature -> BadWebhook."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise BadWebhook("STRIPE_WEBHOOK_SECRET is not set; this installation does not accept Stripe webhooks.")
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, signature or "", secret, WEBHOOK_TOLERANCE_S)
        body = json.loads(text)
        event_id, event_type, created = body["id"], body["type"], int(body["created"])
    except stripe.SignatureVerificationError as exc:
        raise BadWebhook(f"Stripe signature check failed: {exc.user_message or exc}") from exc
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise BadWebhook("The webhook body is not a Stripe event.", code="bad_payload") from exc
    with transaction.atomic():
        event, created_now = StripeEvent.objects.get_or_create(
            event_id=event_id, defaults={"type": event_type, "created": created, "payload": body}
        )
        if event.processed_at is None:
            from billing.tasks import enqueue

            transaction.on_commit(lambda: enqueue("billing.tasks.stripe_event_process", event_id))
    return event


def stripe_event_process(*, event_id: str) -> str:
    """Apply one recorded Stripe event, once."""
    with transaction.atomic():
        event = StripeEvent.objects.select_for_update().get(event_id=event_id)
        if event.processed_at is not None:
            return "already processed"
        handler = _HANDLERS.get(event.type)
        result = handler(event) if handler else "ignored"
        event.processed_at = timezone.now()
        event.result = result[:200]
        event.save(update_fields=["processed_at", "result"])
    return result


def _account_for(obj: dict) -> BillingAccount | None:
    customer = obj.get("customer")
    queryset = BillingAccount.objects.select_for_update()
    account = queryset.filter(stripe_customer_id=customer).first() if customer else None
    slug = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("organization")
    if account is None and slug:
        account = queryset.filter(organization__slug=slug).first()
    return account


def _set_standing(account: BillingAccount, event: StripeEvent, standing: str, **fields) -> str:
    if account.standing_event_created is not None and event.created < account.standing_event_created:
        return f"stale: standing stays {account.standing}"
    for name, value in fields.items():
        setattr(account, name, value)
    account.standing = standing
    account.standing_event_created = event.created
    account.save(update_fields=["standing", "standing_event_created", "updated_at", *fields])
    return f"standing {standing}"


def _on_checkout_completed(event: StripeEvent) -> str:
    session = event.payload["data"]["object"]
    account = _account_for(session)
    if account is None:
        return "no organization for this session"
    fields = {"stripe_subscription_id": session.get("subscription") or account.stripe_subscription_id}
    if not account.stripe_customer_id and session.get("customer"):
        fields["stripe_customer_id"] = session["customer"]
    if session.get("mode") != "subscription" or session.get("status") not in (None, "complete"):
        return "not a completed subscription checkout"
    return _set_standing(account, event, Standing.ACTIVE, **fields)


def _on_subscription(event: StripeEvent) -> str:
    subscription = event.payload["data"]["object"]
    account = _account_for(subscription)
    if account is None:
        return "no organization for this customer"
    is_other = account.stripe_subscription_id and subscription["id"] != account.stripe_subscription_id
    if is_other and event.type == "customer.subscription.deleted":
        return "an older subscription ended; standing unchanged"
    status = "canceled" if event.type == "customer.subscription.deleted" else subscription.get("status", "")
    standing = SUBSCRIPTION_STANDING.get(status)
    if standing is None:  # incomplete: wait for the payment to settle
        return f"subscription {status}: standing unchanged"
    return _set_standing(
        account, event, standing, stripe_subscription_id=subscription["id"], subscription_status=status
    )


def _on_invoice_paid(event: StripeEvent) -> str:
    account = _account_for(event.payload["data"]["object"])
    if account is None or account.standing != Standing.PAST_DUE:
        return "no change"
    return _set_standing(account, event, Standing.ACTIVE)


def _on_invoice_failed(event: StripeEvent) -> str:
    account = _account_for(event.payload["data"]["object"])
    if account is None or account.standing != Standing.ACTIVE:
        return "no change"
    return _set_standing(account, event, Standing.PAST_DUE)


_HANDLERS = {
    "checkout.session.completed": _on_checkout_completed,
    "customer.subscription.created": _on_subscription,
    "customer.subscription.updated": _on_subscription,
    "customer.subscription.deleted": _on_subscription,
    "invoice.paid": _on_invoice_paid,
    "invoice.payment_failed": _on_invoice_failed,
}


# --- catalog sync ------------------------------------------------------------------------------------


def _list_all(service_list, params: dict) -> list:
    return list(stripe_gateway.call(lambda: service_list({**params, "limit": 100})).auto_paging_iter())


def stripe_sync() -> list[str]:
    """Create or update one meter per resolution, a product per plan and a metered monthly price per
    plan and resolution; store their ids. Safe to run again: unchanged things are left alone."""
    client = _client()
    lines = []
    meters = {m.event_name: m for m in _list_all(client.v1.billing.meters.list, {"status": "active"})}
    for resolution in prices.RESOLUTIONS:
        lines.append(_sync_meter(client, meters, resolution))
    plan_default()
    for plan in Plan.objects.all():
        lines.extend(_sync_plan(client, plan))
    return lines


def _sync_meter(client: stripe.StripeClient, meters: dict, resolution: str) -> str:
    event_name = meter_event_name(resolution)
    display_name = f"Seedance video seconds ({resolution})"
    meter = meters.get(event_name)
    if meter is None:
        meter = stripe_gateway.call(
            lambda: client.v1.billing.meters.create(
                {
                    "display_name": display_name,
                    "event_name": event_name,
                    "default_aggregation": {"formula": "sum"},
                    "customer_mapping": {"event_payload_key": "stripe_customer_id", "type": "by_id"},
                    "value_settings": {"event_payload_key": "value"},
                },
                {"idempotency_key": f"sync-meter-{event_name}"},
            )
        )
        outcome = "created"
    elif meter.display_name != display_name:
        meter = stripe_gateway.call(lambda: client.v1.billing.meters.update(meter.id, {"display_name": display_name}))
        outcome = "updated"
    else:
        outcome = "unchanged"
    StripeMeter.objects.update_or_create(
        resolution=resolution, defaults={"event_name": event_name, "stripe_meter_id": meter.id}
    )
    return f"meter {event_name} {meter.id} {outcome}"


def _sync_plan(client: stripe.StripeClient, plan: Plan) -> list[str]:
    product_id = f"seedance_{plan.slug}"
    try:
        product = stripe_gateway.call(lambda: client.v1.products.retrieve(product_id))
        outcome = "unchanged"
        if product.name != f"Seedance video ({plan.name})" or not product.active:
            product = stripe_gateway.call(
                lambda: client.v1.products.update(product_id, {"name": f"Seedance video ({plan.name})", "active": True})
            )
            outcome = "updated"
    except stripe.InvalidRequestError as exc:
        if exc.http_status != 404:
            raise
        product = stripe_gateway.call(
            lambda: client.v1.products.create(
                {"id": product_id, "name": f"Seedance video ({plan.name})", "metadata": {"plan": plan.slug}}
            )
        )
        outcome = "created"
    lines = [f"product {product.id} {outcome}"]
    price_ids = {}
    for resolution in prices.RESOLUTIONS:
        price_ids[resolution], line = _sync_price(client, plan, product.id, resolution)
        lines.append(line)
    Plan.objects.filter(pk=plan.pk).update(stripe_product_id=product.id, stripe_price_ids=price_ids)
    return lines


def _sync_price(client: stripe.StripeClient, plan: Plan, product_id: str, resolution: str) -> tuple[str, str]:
    lookup_key = f"seedance_{plan.slug}_{resolution}"
    meter_id = StripeMeter.objects.get(resolution=resolution).stripe_meter_id
    cents = prices.stripe_unit_amount_decimal(plan.unit_price(resolution))
    existing = _list_all(client.v1.prices.list, {"lookup_keys": [lookup_key], "active": True})
    for price in existing:
        recurring = price.recurring
        if (
            price.currency == prices.CURRENCY
            and price.unit_amount_decimal is not None
            and prices.Decimal(str(price.unit_amount_decimal)) == prices.Decimal(cents)
            and recurring is not None
            and recurring.meter == meter_id
            and recurring.usage_type == "metered"
            and price.product == product_id
        ):
            return price.id, f"price {lookup_key} {price.id} unchanged ({cents} cents/s)"
    price = stripe_gateway.call(
        lambda: client.v1.prices.create(
            {
                "currency": prices.CURRENCY,
                "product": product_id,
                "unit_amount_decimal": cents,
                "recurring": {"interval": "month", "usage_type": "metered", "meter": meter_id},
                "lookup_key": lookup_key,
                "transfer_lookup_key": True,
                "nickname": f"{plan.name} {resolution} per second",
                "metadata": {"plan": plan.slug, "resolution": resolution},
            }
        )
    )
    for old in existing:  # a price's amount cannot change in Stripe: archive the old one
        stripe_gateway.call(lambda old=old: client.v1.prices.update(old.id, {"active": False}))
    return price.id, f"price {lookup_key} {price.id} created ({cents} cents/s)"


# --- reconciliation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    organization: str
    meter: str
    ledger_seconds: int
    stripe_seconds: float

    def __str__(self) -> str:
        return (
            f"{self.organization} {self.meter}: ledger reported {self.ledger_seconds} s, "
            f"Stripe has {self.stripe_seconds:g} s (difference {self.ledger_seconds - self.stripe_seconds:+g} s)"
        )


def billing_reconcile(*, since: date, until: datetime | None = None) -> tuple[list[Difference], list[str]]:
    """Compare, per organization and meter, the seconds the ledger marked reported with Stripe's event summaries."""
    client = _client()
    start = datetime.combine(since, datetime.min.time(), tzinfo=UTC)
    # Stripe wants minute-aligned bounds; the end is exclusive.
    until = until or timezone.now()
    end = until.replace(second=0, microsecond=0) + timedelta(minutes=1)
    meters = {m.resolution: m for m in StripeMeter.objects.all()}
    if len(meters) < len(prices.RESOLUTIONS):
        raise StripeUnavailable("Meters are not set up yet: run `python manage.py stripe_sync` first.")
    differences, notes = [], []
    accounts = BillingAccount.objects.exclude(stripe_customer_id="").select_related("organization")
    for account in accounts.order_by("organization__slug"):
        records = UsageRecord.objects.filter(organization=account.organization, completed_at__gte=start)
        records = records.filter(completed_at__lt=end)
        pending = records.filter(report_state=ReportState.PENDING).count()
        if pending:
            notes.append(f"{account.organization.slug}: {pending} record(s) not reported yet (the drain sends them)")
        for resolution, meter in meters.items():
            reported = records.filter(report_state=ReportState.REPORTED, resolution=resolution)
            ledger_seconds = reported.aggregate(s=Sum("seconds"))["s"] or 0
            summaries = _list_all(
                lambda params, meter=meter: client.v1.billing.meters.event_summaries.list(
                    meter.stripe_meter_id, params
                ),
                {
                    "customer": account.stripe_customer_id,
                    "start_time": int(start.timestamp()),
                    "end_time": int(end.timestamp()),
                },
            )
            stripe_seconds = sum(float(s.aggregated_value) for s in summaries)
            if abs(stripe_seconds - ledger_seconds) > 1e-9:
                differences.append(
                    Difference(account.organization.slug, meter.event_name, ledger_seconds, stripe_seconds)
                )
    return differences, notes
