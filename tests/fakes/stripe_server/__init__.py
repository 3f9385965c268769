"""A small fake of the Stripe API on 127.0.0.1: just what billing calls, in Stripe's documented shapes.

Form-encoded requests, JSON answers, Stripe error objects, Idempotency-Key replay, Billing Meters with
meter-event identifier de-duplication and the 35-day timestamp window, event summaries, customers, products,
prices with meters, subscriptions, Checkout and Billing Portal sessions, signed webhook events, and failure
injection (the next N requests answer 500 or 429, hang past the client's timeout, or are accepted and then hang).
"""

from tests.fakes.stripe_server.common import StripeFailure, decode_form
from tests.fakes.stripe_server.fake import FakeStripe
from tests.fakes.stripe_server.server import FakeStripeServer, main

__all__ = ["FakeStripe", "FakeStripeServer", "StripeFailure", "decode_form", "main"]
