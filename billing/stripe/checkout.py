"""Stripe Checkout (subscribe) and the Billing Portal (cards, invoices)."""

from __future__ import annotations

from accounts.models import Organization
from billing import prices, stripe_gateway
from billing.models import BillingAccount
from billing.services import next_period_start
from billing.stripe.common import stripe_client
from billing.stripe.customers import stripe_customer_create
from seedance_saas.errors import ServiceError


def checkout_session_create(*, organization: Organization, success_url: str, cancel_url: str) -> str:
    """A Stripe Checkout Session (subscription mode, the plan's metered prices); returns its URL."""
    stripe_client()  # ledger-only mode says so before anything else
    account = BillingAccount.objects.select_related("plan").get(organization=organization)
    price_ids = [account.plan.stripe_price_ids.get(resolution) for resolution in prices.RESOLUTIONS]
    if not all(price_ids):
        raise ServiceError("Stripe prices are not set up yet: run `python manage.py stripe_sync`.", code="not_synced")
    customer_id = stripe_customer_create(organization_id=organization.pk)
    subscription_data = {
        "metadata": {"organization": organization.slug},
        # Periods are calendar months (UTC), like the ledger and the billing page: the first period runs to
        # the 1st, and "none" means no prorated fee for it (usage in it is still billed, in arrears).
        "billing_cycle_anchor": int(next_period_start().timestamp()),
        "proration_behavior": "none",
    }
    session = stripe_gateway.call(
        lambda: stripe_client().v1.checkout.sessions.create(
            {
                "mode": "subscription",
                "customer": customer_id,
                "client_reference_id": organization.slug,
                "line_items": [{"price": price_id} for price_id in price_ids],
                "success_url": success_url,
                "cancel_url": cancel_url,
                "metadata": {"organization": organization.slug},
                "subscription_data": subscription_data,
            }
        )
    )
    return session.url


def portal_session_create(*, organization: Organization, return_url: str) -> str:
    """A Billing Portal Session for cards and invoices; returns its URL."""
    customer_id = stripe_customer_create(organization_id=organization.pk)
    session = stripe_gateway.call(
        lambda: stripe_client().v1.billing_portal.sessions.create({"customer": customer_id, "return_url": return_url})
    )
    return session.url
