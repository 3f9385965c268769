"""`stripe_sync`: the meters, products and metered prices billing needs, created or updated idempotently."""

from __future__ import annotations

import stripe

from billing import prices, stripe_gateway
from billing.models import Plan, StripeMeter
from billing.services import plan_default
from billing.stripe.common import list_all, meter_event_name, stripe_client
from billing.stripe.subscriptions import subscriptions_sync


def stripe_sync() -> list[str]:
    """Create or update one meter per resolution, a product per plan and a metered monthly price per
    plan and resolution; store their ids. Safe to run again: unchanged things are left alone."""
    client = stripe_client()
    lines = []
    meters = {m.event_name: m for m in list_all(client.v1.billing.meters.list, {"status": "active"})}
    for resolution in prices.RESOLUTIONS:
        lines.append(_sync_meter(client, meters, resolution))
    plan_default()
    for plan in Plan.objects.all():
        lines.extend(_sync_plan(client, plan))
    # A new price reaches nobody until live subscriptions move to it.
    lines.extend(f"subscription {line}" for line in subscriptions_sync())
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
    existing = list_all(client.v1.prices.list, {"lookup_keys": [lookup_key], "active": True})
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
