"""What every Stripe module shares: the configured client, the ledger-only error, meter names, list paging."""

from __future__ import annotations

import stripe

from billing import stripe_gateway
from seedance_saas.errors import ServiceError

METER_EVENT_NAME = "seedance_seconds_{resolution}"


class StripeUnavailable(ServiceError):
    code = "stripe_unavailable"
    status_code = 503
    default_message = "Stripe is not configured on this installation (ledger-only billing)."


def meter_event_name(resolution: str) -> str:
    return METER_EVENT_NAME.format(resolution=resolution)


def stripe_client() -> stripe.StripeClient:
    if not stripe_gateway.configured():
        raise StripeUnavailable()
    return stripe_gateway.client()


def list_all(service_list, params: dict) -> list:
    return list(stripe_gateway.call(lambda: service_list({**params, "limit": 100})).auto_paging_iter())
