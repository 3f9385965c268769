"""The organization's Stripe Customer."""

from __future__ import annotations

from billing import stripe_gateway
from billing.models import BillingAccount
from billing.stripe.common import stripe_client


def stripe_customer_create(*, organization_id: int) -> str:
    """The organization's Stripe Customer (metadata organization=<slug>), created once."""
    account = BillingAccount.objects.select_related("organization").get(organization_id=organization_id)
    if account.stripe_customer_id:
        return account.stripe_customer_id
    organization = account.organization
    customer = stripe_gateway.call(
        lambda: stripe_client().v1.customers.create(
            {"name": organization.name, "metadata": {"organization": organization.slug}},
            # The slug too: a rebuilt database reusing a pk within Stripe's 24 h must not get another org's customer.
            {"idempotency_key": f"customer-{organization.pk}-{organization.slug}"},
        )
    )
    BillingAccount.objects.filter(pk=account.pk, stripe_customer_id="").update(stripe_customer_id=customer.id)
    account.refresh_from_db(fields=["stripe_customer_id"])
    return account.stripe_customer_id
