"""Operators set an organization's billing standing, audited with a reason."""

from django.core.management.base import BaseCommand, CommandError

from billing import accounts
from billing.management.commands.billing_account_grant_credit import organization_by_slug
from billing.models import Standing
from seedance_saas.errors import ServiceError


class Command(BaseCommand):
    help = f"Set an organization's billing standing ({', '.join(Standing.values)}); written to the billing audit."

    def add_arguments(self, parser):
        parser.add_argument("organization", help="the organization's slug")
        parser.add_argument("standing", help=f"one of {', '.join(Standing.values)}")
        parser.add_argument("--reason", required=True, help="why, kept in the billing audit (e.g. a ticket number)")

    def handle(self, *args, organization, standing, reason, **options):
        target = organization_by_slug(organization)
        if standing not in Standing.values:
            raise CommandError(f"Unknown standing {standing!r}: use one of {', '.join(Standing.values)}.")
        try:
            account = accounts.billing_account_set_standing(
                organization=target, standing=standing, reason=reason, actor=None
            )
        except ServiceError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"{target.slug} is now {account.standing}.")
