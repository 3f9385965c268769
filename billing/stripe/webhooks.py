"""Stripe webhooks: verify, record once, then apply each event to the account's standing."""

from __future__ import annotations

import json

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.models import BillingAccount, Standing, StripeEvent
from billing.queue import enqueue
from seedance_saas.errors import ServiceError

WEBHOOK_TOLERANCE_S = 300

SUBSCRIPTION_STANDING = {
    "active": Standing.ACTIVE,
    "trialing": Standing.ACTIVE,
    "past_due": Standing.PAST_DUE,
    "unpaid": Standing.PAST_DUE,
    # A trial ended without a payment method: Stripe issues no invoices while paused, so no paid usage either.
    "paused": Standing.PAST_DUE,
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
    result = _set_standing(account, event, Standing.ACTIVE, **fields)
    # The session carried the prices of when it was opened (it lives 24 h): a price or plan change since then
    # must reach this subscription too, or it is invoiced at prices the ledger no longer charges.
    organization_id = account.organization_id
    transaction.on_commit(lambda: enqueue("billing.tasks.subscription_items_sync", organization_id))
    return result


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
