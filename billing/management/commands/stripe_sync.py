"""Create or update the Stripe meters, products and metered prices billing needs (idempotent)."""

from django.core.management.base import BaseCommand, CommandError

from billing.stripe import catalog
from billing.stripe.common import StripeUnavailable


class Command(BaseCommand):
    help = (
        "Create or update one Billing Meter per resolution, a product per plan and its metered prices. Safe to rerun."
    )

    def handle(self, *args, **options):
        try:
            lines = catalog.stripe_sync()
        except StripeUnavailable as exc:
            raise CommandError(exc.message) from exc
        for line in lines:
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS("Stripe catalog in sync."))
