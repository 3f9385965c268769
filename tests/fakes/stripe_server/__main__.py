"""`python -m tests.fakes.stripe_server`: serve a fake Stripe in its own process."""

from tests.fakes.stripe_server.server import main

main()
