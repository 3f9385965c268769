"""Create the demo organization and login (idempotent)."""

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import services
from accounts.models import Membership, Role, User

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password-1"
DEMO_ORGANIZATION = "Demo Studio"


class Command(BaseCommand):
    help = "Create a demo organization with a demo login (safe to run again)."

    @transaction.atomic
    def handle(self, *args, **options):
        user = User.objects.filter(email=DEMO_EMAIL).first()
        if user is None:
            user = User.objects.create_user(email=DEMO_EMAIL, password=DEMO_PASSWORD, first_name="Demo")
        EmailAddress.objects.update_or_create(user=user, email=DEMO_EMAIL, defaults={"verified": True, "primary": True})
        if not Membership.objects.filter(user=user, role=Role.OWNER, organization__name=DEMO_ORGANIZATION).exists():
            services.organization_create(name=DEMO_ORGANIZATION, owner=user)
        self.stdout.write(f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD} at http://127.0.0.1:8000/accounts/login/")
