"""Create an API key for an organization; prints the secret last (it cannot be shown again)."""

from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.models import Organization
from accounts.scopes import READ_ONLY, SCOPES
from seedance_saas.errors import InvalidInput


class Command(BaseCommand):
    help = "Create an API key. Prints the secret as the last line; only its hash is stored."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="The organization's slug.")
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--scopes",
            help=f"Comma-separated scopes (default: all), or 'read-only'. Known: {', '.join(SCOPES)}.",
        )

    def handle(self, *args, org, name, scopes=None, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization with slug {org!r}.")
        wanted = None
        if scopes == "read-only":
            wanted = READ_ONLY
        elif scopes:
            wanted = [scope.strip() for scope in scopes.split(",")]
        try:
            key, secret = services.api_key_create(organization=organization, name=name, scopes=wanted)
        except InvalidInput as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"Created key {key.name!r} ({key.prefix}...) for {organization.slug} with scopes {', '.join(key.scopes)}. "
            "Store it now:"
        )
        self.stdout.write(secret)
