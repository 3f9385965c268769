"""Compare the usage ledger with Stripe (meter seconds, invoices to the cent); exit 1 on any difference."""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError

from billing import services
from billing.stripe import reconcile
from billing.stripe.common import StripeUnavailable


class Command(BaseCommand):
    help = (
        "Compare the ledger with Stripe: seconds per meter, money per invoice (to the cent, refunds netted), "
        "unreported usage and usage no invoice bills. Exits 1 on any difference."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", help="YYYY-MM-DD (UTC); default: the first day of this month")
        parser.add_argument(
            "--grace-minutes",
            type=int,
            default=15,
            help="usage this recent may still be on its way to Stripe: a note, not a difference (default 15)",
        )

    def handle(self, *args, since=None, grace_minutes=15, **options):
        try:
            start = date.fromisoformat(since) if since else services.period_start()
        except ValueError as exc:
            raise CommandError(f"--since must be a date like 2026-01-31, not {since!r}.") from exc
        try:
            differences, notes = reconcile.billing_reconcile(since=start, grace=timedelta(minutes=grace_minutes))
        except StripeUnavailable as exc:
            raise CommandError(exc.message) from exc
        for note in notes:
            self.stdout.write(note)
        for difference in differences:
            self.stdout.write(self.style.ERROR(f"DIFFERENCE {difference}"))
        if differences:
            raise CommandError(f"{len(differences)} difference(s) between the ledger and Stripe since {start}.")
        self.stdout.write(self.style.SUCCESS(f"Ledger and Stripe agree since {start}."))
