"""Operators grant an organization credit (added to its trial credit), audited with a reason."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from billing import accounts
from seedance_saas.errors import ServiceError


def organization_by_slug(slug: str) -> Organization:
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        raise CommandError(f"No organization with the slug {slug!r} (see the admin's Organizations list).")
    return organization


class Command(BaseCommand):
    help = "Add USD to an organization's credit (spent while its standing is trial); written to the billing audit."

    def add_arguments(self, parser):
        parser.add_argument("organization", help="the organization's slug")
        parser.add_argument("amount", help="USD to add, e.g. 25 or 12.50")
        parser.add_argument("--reason", required=True, help="why, kept in the billing audit (e.g. a ticket number)")

    def handle(self, *args, organization, amount, reason, **options):
        target = organization_by_slug(organization)
        try:
            account = accounts.billing_account_grant_credit(
                organization=target, amount=amount, reason=reason, actor=None
            )
        except ServiceError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"Granted {amount} USD to {target.slug}: its credit is now {account.trial_credit} USD.")
