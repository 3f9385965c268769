"""FakeStripe: the core plus one mixin per group of resources."""

from __future__ import annotations

from tests.fakes.stripe_server.catalog import CatalogMixin
from tests.fakes.stripe_server.core import FakeStripeCore
from tests.fakes.stripe_server.events import EventsMixin
from tests.fakes.stripe_server.invoicing import InvoicingMixin
from tests.fakes.stripe_server.metering import MeteringMixin
from tests.fakes.stripe_server.subscriptions import SubscriptionsMixin


class FakeStripe(CatalogMixin, MeteringMixin, SubscriptionsMixin, InvoicingMixin, EventsMixin, FakeStripeCore):
    """State and behaviour; `FakeStripeServer` puts it on a port."""
