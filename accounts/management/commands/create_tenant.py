"""Create an organization with an owner; prints the slug last."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import services
from accounts.models import User
from seedance_saas.errors import ServiceError


class Command(BaseCommand):
    help = "Create an organization and its owner (created if new). Prints the organization's slug as the last line."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner-email", required=True)
        parser.add_argument(
            "--password", default=None, help="Password for a new owner; without it the owner must reset it."
        )

    def handle(self, *args, name, owner_email, password, **options):
        with transaction.atomic():
            owner = User.objects.filter(email__iexact=owner_email).first()
            if owner is None:
                owner = User.objects.create_user(email=owner_email, password=password)
            try:
                organization = services.organization_create(name=name, owner=owner)
            except ServiceError as error:
                raise CommandError(error.message) from error
        self.stdout.write(f"Created {organization.name} owned by {owner.email}.")
        self.stdout.write(organization.slug)
