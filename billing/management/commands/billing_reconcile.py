"""Compare the usage ledger with Stripe's meter event summaries; exit 1 when they differ."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from billing import services
from billing.stripe import reconcile
from billing.stripe.common import StripeUnavailable


class Command(BaseCommand):
    help = "Compare, per organization and meter, the seconds the ledger reported with Stripe. Exits 1 on a difference."

    def add_arguments(self, parser):
        parser.add_argument("--since", help="YYYY-MM-DD (UTC); default: the first day of this month")

    def handle(self, *args, since=None, **options):
        try:
            start = date.fromisoformat(since) if since else services.period_start()
        except ValueError as exc:
            raise CommandError(f"--since must be a date like 2026-01-31, not {since!r}.") from exc
        try:
            differences, notes = reconcile.billing_reconcile(since=start)
        except StripeUnavailable as exc:
            raise CommandError(exc.message) from exc
        for note in notes:
            self.stdout.write(note)
        for difference in differences:
            self.stdout.write(self.style.ERROR(f"DIFFERENCE {difference}"))
        if differences:
            raise CommandError(f"{len(differences)} difference(s) between the ledger and Stripe since {start}.")
        self.stdout.write(self.style.SUCCESS(f"Ledger and Stripe agree since {start}."))
