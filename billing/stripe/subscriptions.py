"""Keep live subscriptions on their plan's current prices, so the next invoice charges what the ledger charges.

Stripe prices are immutable: `stripe_sync` answers a price edit with a new price and archives the old one,
and an account's plan change points it at other prices. Either way every live subscription item is moved to
the plan's current price for its resolution (proration none: metered usage already reported keeps the
price it was reported under, as the ledger's records keep theirs).
"""

from __future__ import annotations

import logging

import stripe

from billing import stripe_gateway
from billing.models import BillingAccount, Standing, StripeMeter
from billing.stripe.common import stripe_client

log = logging.getLogger(__name__)

# Accounts whose subscription Stripe may still invoice.
LIVE_STANDINGS = (Standing.ACTIVE, Standing.PAST_DUE)


def _item_resolution(item, resolution_by_meter: dict[str, str]) -> str | None:
    price = item["price"].to_dict()
    resolution = (price.get("metadata") or {}).get("resolution")
    if resolution:
        return resolution
    return resolution_by_meter.get((price.get("recurring") or {}).get("meter"))


def subscription_items_sync(*, organization_id: int) -> list[str]:
    """Move the account's subscription items to its plan's current prices (add a missing resolution)."""
    account = BillingAccount.objects.select_related("plan", "organization").get(organization_id=organization_id)
    if not account.stripe_subscription_id or account.standing not in LIVE_STANDINGS:
        return []
    client = stripe_client()
    wanted = dict(account.plan.stripe_price_ids)
    resolution_by_meter = {m.stripe_meter_id: m.resolution for m in StripeMeter.objects.all()}
    subscription = stripe_gateway.call(lambda: client.v1.subscriptions.retrieve(account.stripe_subscription_id))
    if subscription.status == "canceled":
        return []
    lines, seen = [], set()
    for item in subscription["items"].data:
        resolution = _item_resolution(item, resolution_by_meter)
        seen.add(resolution)
        new_price = wanted.get(resolution)
        if not new_price or item.price.id == new_price:
            continue
        stripe_gateway.call(
            lambda item=item, new_price=new_price: client.v1.subscription_items.update(
                item.id,
                {"price": new_price, "proration_behavior": "none"},
                {"idempotency_key": f"item-price-{item.id}-{new_price}"},
            )
        )
        lines.append(f"{account.organization.slug} {resolution}: {item.price.id} -> {new_price}")
    for resolution, price_id in wanted.items():
        if resolution not in seen and price_id:
            stripe_gateway.call(
                lambda price_id=price_id: client.v1.subscription_items.create(
                    {"subscription": subscription.id, "price": price_id, "proration_behavior": "none"},
                    {"idempotency_key": f"item-add-{subscription.id}-{price_id}"},
                )
            )
            lines.append(f"{account.organization.slug} {resolution}: added {price_id}")
    if lines:
        log.info("Subscription %s moved to current prices: %s", subscription.id, "; ".join(lines))
    return lines


def subscriptions_sync(*, plan_id: int | None = None) -> list[str]:
    """Every live subscription (of one plan, or all) onto its plan's current prices."""
    accounts = BillingAccount.objects.exclude(stripe_subscription_id="").filter(standing__in=LIVE_STANDINGS)
    if plan_id is not None:
        accounts = accounts.filter(plan_id=plan_id)
    lines = []
    for organization_id in accounts.values_list("organization_id", flat=True):
        lines.extend(subscription_items_sync_or_report(organization_id=organization_id))
    return lines


def subscription_items_sync_or_report(*, organization_id: int) -> list[str]:
    """subscription_items_sync, with a subscription Stripe refuses (gone, say) logged and reported, not raised."""
    try:
        return subscription_items_sync(organization_id=organization_id)
    except stripe.InvalidRequestError as exc:  # one broken subscription must not stop the others
        log.error("Subscription of organization %s not moved: %s", organization_id, stripe_gateway.describe(exc))
        return [f"organization {organization_id}: NOT MOVED ({stripe_gateway.describe(exc)})"]
