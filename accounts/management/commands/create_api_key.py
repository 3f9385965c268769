"""Create an API key for an organization; prints the secret last (it cannot be shown again)."""

from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.models import Organization


class Command(BaseCommand):
    help = "Create an API key. Prints the secret as the last line; only its hash is stored."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="The organization's slug.")
        parser.add_argument("--name", required=True)

    def handle(self, *args, org, name, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization with slug {org!r}.")
        key, secret = services.api_key_create(organization=organization, name=name)
        self.stdout.write(f"Created key {key.name!r} ({key.prefix}...) for {organization.slug}. Store it now:")
        self.stdout.write(secret)
